/**
 * The preload: the renderer's only way to the engine in the desktop app. Sandboxed (bundled to
 * one CommonJS file that requires nothing but 'electron'), it exposes exactly these named
 * functions as `window.lab`, never ipcRenderer itself nor an IPC event object. What the renderer
 * sends is validated in the main process (electron/main/ipc-guard.ts), what it receives by the
 * renderer's LabClient.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

const CHANNEL_TO_ENGINE = 'lab:message';
const CHANNEL_FROM_ENGINE = 'lab:message';
const CHANNEL_START = 'lab:start';

let listening = false;

contextBridge.exposeInMainWorld('lab', {
  /** One LabApi ClientMessage (a plain object). */
  send(message: unknown): void {
    ipcRenderer.send(CHANNEL_TO_ENGINE, message);
  },
  /** Messages from the engine; one listener per page (the LabClient). */
  onMessage(listener: (message: unknown) => void): void {
    if (listening) throw new Error('window.lab.onMessage: already listening');
    listening = true;
    ipcRenderer.on(CHANNEL_FROM_ENGINE, (_event: IpcRendererEvent, message: unknown) => listener(message));
  },
  /** Asks for the hello (and the session so far); call after onMessage. */
  start(): void {
    ipcRenderer.send(CHANNEL_START);
  },
});
