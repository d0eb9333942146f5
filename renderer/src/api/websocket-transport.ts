/**
 * Browser mode: LabApi over the WebSocket that `tcplab web` serves at /api. The access token
 * travels as the cookie the printed link set (same origin), so nothing secret is in this code.
 */
import type { ClientMessageInput } from '../../../shared/src/lab-api';
import type { LabTransport } from './lab-client';

export function connectWebSocket(): Promise<LabTransport> {
  const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${protocol}//${location.host}/api`);
  const messageListeners: Array<(raw: unknown) => void> = [];
  const closeListeners: Array<(why: string) => void> = [];
  // Held until someone listens, so the hello that follows `open` is never lost.
  const early: unknown[] = [];
  socket.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (messageListeners.length === 0) early.push(event.data);
    for (const listener of messageListeners) listener(event.data);
  });
  socket.addEventListener('close', (event) => {
    const why = event.reason
      ? `The connection to TCP Lab closed: ${event.reason}`
      : 'The connection to TCP Lab closed. Is `tcplab web` still running? Start it again and open the new link it prints.';
    for (const listener of closeListeners) listener(why);
  });
  const transport: LabTransport = {
    send: (message: ClientMessageInput) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    },
    onMessage: (listener) => {
      messageListeners.push(listener);
      for (const raw of early.splice(0)) listener(raw);
    },
    onClose: (listener) => closeListeners.push(listener),
  };
  return new Promise((resolve, reject) => {
    socket.addEventListener('open', () => resolve(transport), { once: true });
    socket.addEventListener(
      'error',
      () => reject(new Error('Cannot reach TCP Lab. Open the link `tcplab web` printed (it carries the access key), and check that it is still running.')),
      { once: true },
    );
  });
}
