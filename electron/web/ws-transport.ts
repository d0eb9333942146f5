/**
 * LabApi over WebSocket: each message from a renderer is validated (shared/src/lab-api.ts)
 * before anything acts on it; a malformed one is answered with an error and dropped. Replies go
 * to the renderer that asked; state changes and session events go to every renderer.
 */
import type { WebSocket, WebSocketServer } from 'ws';
import { parseClientMessage, type ClientMessage, type ServerMessage } from '../../shared/src/lab-api';
import { ApiFailure, type LabBackend } from './lab-backend';

/** A renderer that stops reading (a frozen tab) is dropped before it holds this much. */
const MAX_BUFFERED = 64 * 1024 * 1024;

export function serveLabApi(server: WebSocketServer, backend: LabBackend): void {
  const clients = new Set<WebSocket>();
  const send = (ws: WebSocket, message: ServerMessage): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      ws.close(1013, 'this page fell too far behind; reload it');
      return;
    }
    ws.send(JSON.stringify(message));
  };
  backend.on('message', (message) => {
    for (const ws of clients) send(ws, message);
  });

  server.on('connection', (ws: WebSocket) => {
    clients.add(ws);
    backend.setConsumers(clients.size);
    send(ws, backend.hello());
    for (const message of backend.replay()) send(ws, message);
    ws.on('close', () => {
      clients.delete(ws);
      backend.setConsumers(clients.size);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return send(ws, { type: 'notice', level: 'error', text: 'message from the app refused: binary frames are not part of LabApi' });
      const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');
      const parsed = parseClientMessage(text);
      if (!parsed.ok) {
        // Answer a request we cannot accept, so the caller is not left waiting; act on nothing.
        const id = requestIdOf(text);
        if (id !== undefined) send(ws, { type: 'reply', id, ok: false, error: { message: parsed.error } });
        else send(ws, { type: 'notice', level: 'error', text: parsed.error });
        return;
      }
      void dispatch(parsed.value, backend, (message) => send(ws, message));
    });
  });
}

export async function dispatch(message: ClientMessage, backend: LabBackend, reply: (message: ServerMessage) => void): Promise<void> {
  try {
    switch (message.type) {
      case 'request': {
        try {
          const result = await backend.handle(message.request);
          reply({ type: 'reply', id: message.id, ok: true, result });
        } catch (error) {
          reply({ type: 'reply', id: message.id, ok: false, error: error instanceof ApiFailure ? error.error : { message: (error as Error).message } });
        }
        return;
      }
      case 'pane-input':
        return backend.input(message.host, message.pane, message.data);
      case 'pane-ack':
        return backend.acknowledge(message.session, message.host, message.pane, message.seq);
      case 'pane-resize':
        return backend.resize(message.host, message.pane, message.cols, message.rows);
    }
  } catch (error) {
    reply({ type: 'notice', level: 'error', text: error instanceof ApiFailure ? error.error.message : (error as Error).message });
  }
}

/** The id of something that looks like a request, even when the rest of it is malformed. */
function requestIdOf(text: string): number | undefined {
  try {
    const value = JSON.parse(text) as { type?: unknown; id?: unknown } | null;
    if (value && value.type === 'request' && typeof value.id === 'number' && Number.isSafeInteger(value.id) && value.id >= 1) return value.id;
  } catch {
    // Not JSON: nothing to answer.
  }
  return undefined;
}
