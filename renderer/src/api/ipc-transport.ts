/**
 * The desktop app: LabApi over Electron IPC, through the named functions the preload exposes as
 * `window.lab` (electron/preload/preload.ts). Messages are structured clones; LabClient validates
 * what arrives, the main process what leaves.
 */
import type { ClientMessageInput } from '../../../shared/src/lab-api';
import type { LabTransport } from './lab-client';

/** What electron/preload/preload.ts exposes; nothing else of Electron reaches the page. */
export interface PreloadLabApi {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  start(): void;
}

declare global {
  interface Window {
    /** Present only in the desktop app. */
    lab?: PreloadLabApi;
  }
}

export function desktopLabApi(): PreloadLabApi | undefined {
  const api = window.lab;
  return api && typeof api.send === 'function' && typeof api.onMessage === 'function' && typeof api.start === 'function' ? api : undefined;
}

export function connectIpc(api: PreloadLabApi): LabTransport {
  const listeners: Array<(raw: unknown) => void> = [];
  const early: unknown[] = [];
  api.onMessage((message) => {
    if (listeners.length === 0) early.push(message);
    for (const listener of listeners) listener(message);
  });
  api.start();
  return {
    send: (message: ClientMessageInput) => api.send(message),
    onMessage: (listener) => {
      listeners.push(listener);
      for (const raw of early.splice(0)) listener(raw);
    },
    // The engine lives as long as the window: IPC never closes under the page.
    onClose: () => undefined,
  };
}
