/**
 * The renderer's end of LabApi. Transport-neutral: browser mode carries it over a WebSocket
 * (websocket-transport.ts); the Electron shell will carry it over its preload's named functions.
 * Every message from the engine is validated before anything looks at it.
 */
import {
  parseReplyResult,
  parseServerMessage,
  type ApiError,
  type ApiHostLabel,
  type ClientMessageInput,
  type LabMethod,
  type LabRequestInput,
  type ReplyResult,
  type ServerMessage,
} from '../../../shared/src/lab-api';
import type { PaneName } from '../../../shared/src/events';

export interface LabTransport {
  send(message: ClientMessageInput): void;
  /** Raw messages (text or cloned objects); the client validates them. */
  onMessage(listener: (raw: unknown) => void): void;
  /** The link to the engine is gone, with why, in words. */
  onClose(listener: (why: string) => void): void;
}

/** A request the engine refused or could not carry out. */
export class LabApiError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

type Listener = (message: ServerMessage) => void;

export class LabClient {
  private nextId = 1;
  private readonly pending = new Map<number, { method: LabMethod; resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Set<Listener>();
  private readonly closeListeners = new Set<(why: string) => void>();
  closed: string | undefined;

  constructor(private readonly transport: LabTransport) {
    transport.onMessage((raw) => this.receive(raw));
    transport.onClose((why) => {
      this.closed = why;
      for (const { reject } of this.pending.values()) reject(new Error(why));
      this.pending.clear();
      for (const listener of this.closeListeners) listener(why);
    });
  }

  onMessage(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: (why: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  request<M extends LabMethod>(request: LabRequestInput & { method: M }): Promise<ReplyResult<M>> {
    if (this.closed) return Promise.reject(new Error(this.closed));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method: request.method, resolve: resolve as (value: unknown) => void, reject });
      this.transport.send({ type: 'request', id, request });
    });
  }

  input(host: ApiHostLabel, pane: PaneName, data: string): void {
    if (!this.closed) this.transport.send({ type: 'pane-input', host, pane, data });
  }

  acknowledge(session: string, host: ApiHostLabel, pane: PaneName, seq: number): void {
    if (!this.closed) this.transport.send({ type: 'pane-ack', session, host, pane, seq });
  }

  resize(host: ApiHostLabel, pane: PaneName, cols: number, rows: number): void {
    if (!this.closed) this.transport.send({ type: 'pane-resize', host, pane, cols, rows });
  }

  private receive(raw: unknown): void {
    const parsed = parseServerMessage(raw);
    if (!parsed.ok) {
      // Never acted on; shown, so a version mismatch does not fail silently.
      this.dispatch({ type: 'notice', level: 'error', text: parsed.error });
      return;
    }
    const message = parsed.value;
    if (message.type === 'reply') {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (!message.ok) return waiting.reject(new LabApiError(message.error));
      const result = parseReplyResult(waiting.method, message.result);
      if (result.ok) waiting.resolve(result.value);
      else waiting.reject(new Error(result.error));
      return;
    }
    this.dispatch(message);
  }

  private dispatch(message: ServerMessage): void {
    for (const listener of this.listeners) listener(message);
  }
}
