/**
 * What the Electron shell accepts over IPC, as pure functions (no 'electron' import), so the
 * checks are tested with the real parser and run unchanged in the main process.
 *
 * Two questions for every message, in this order:
 * 1. Who sent it? Only the top frame of the app's own window, showing our own page
 *    (tcplab://app/...). A message from anywhere else (an iframe, a window that navigated away,
 *    another webContents) is dropped and never answered: we do not talk to pages we did not load.
 * 2. Is it a LabApi message? Parsed with shared/src/lab-api.ts like the WebSocket's; a malformed
 *    one is answered with an error (requests by id, so the caller is not left waiting) and never
 *    acted on.
 */
import { parseClientMessage, type ClientMessage } from '../../shared/src/lab-api';

/** The app's own pages are served from this origin (a privileged, standard custom scheme). */
export const APP_SCHEME = 'tcplab';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** What the main process knows about an IPC message's sender (from event.senderFrame). */
export interface IpcSender {
  /** senderFrame.url; undefined when the frame is gone (senderFrame null). */
  frameUrl: string | undefined;
  /** senderFrame === mainWindow.webContents.mainFrame: the top frame of our window. */
  isMainWindowTopFrame: boolean;
}

/** Why a sender is not trusted, or undefined when it is. */
export function senderRefusal(sender: IpcSender): string | undefined {
  if (sender.frameUrl === undefined) return 'the sending frame is gone';
  if (!sender.isMainWindowTopFrame) return 'not the top frame of the app window';
  let url: URL;
  try {
    url = new URL(sender.frameUrl);
  } catch {
    return `not a URL: ${sender.frameUrl}`;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST || url.username !== '' || url.password !== '' || url.port !== '') {
    return `not the app's own page (${url.protocol}//${url.host})`;
  }
  return undefined;
}

export type IpcVerdict =
  | { action: 'accept'; message: ClientMessage }
  /** Untrusted sender: log and drop, answer nothing. */
  | { action: 'drop'; why: string }
  /** Trusted sender, malformed message: answer with the error (to the request id, if any). */
  | { action: 'refuse'; error: string; requestId?: number };

export function judgeIpcMessage(sender: IpcSender, raw: unknown): IpcVerdict {
  const refusal = senderRefusal(sender);
  if (refusal) return { action: 'drop', why: `IPC message dropped: ${refusal}` };
  // IPC carries structured clones; a string would be JSON from a confused caller: refuse it too.
  if (typeof raw !== 'object' || raw === null) return { action: 'refuse', error: 'message from the app refused: not an object' };
  const parsed = parseClientMessage(raw);
  if (!parsed.ok) {
    const id = requestIdOf(raw);
    return { action: 'refuse', error: parsed.error, ...(id !== undefined ? { requestId: id } : {}) };
  }
  return { action: 'accept', message: parsed.value };
}

function requestIdOf(raw: object): number | undefined {
  const value = raw as { type?: unknown; id?: unknown };
  return value.type === 'request' && typeof value.id === 'number' && Number.isSafeInteger(value.id) && value.id >= 1 ? value.id : undefined;
}
