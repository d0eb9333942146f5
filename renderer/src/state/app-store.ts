/**
 * Everything the screen shows, outside React: the engine's hello and state, the workspace fold,
 * notices. Components read it with useSyncExternalStore; pane output bypasses it (terminals).
 *
 * Messages are queued as they arrive and folded together once per animation frame (FrameBatch),
 * so a burst (a replayed run of 100,000 events, in `events` messages of up to 2,000) is one state
 * change and one React render a frame, not one per message. Pane output and its acknowledgements never wait for this: the terminal
 * hub writes each `pane-output` into xterm as it arrives (main.tsx), before it is queued here.
 */
import type { BackendState, ServerMessage } from '../../../shared/src/lab-api';
import { FrameBatch } from './frame-batch';
import { initialWorkspace, reduce, type WorkspaceState } from './workspace';

export type Hello = Extract<ServerMessage, { type: 'hello' }>;

export interface AppState {
  hello?: Hello;
  backend: BackendState;
  workspace: WorkspaceState;
  notices: Array<{ id: number; level: 'info' | 'error'; text: string }>;
  /** Set when the link to the engine is gone. */
  lost?: string;
}

export class AppStore {
  private state: AppState = { backend: { phase: 'idle' }, workspace: initialWorkspace(), notices: [] };
  private readonly listeners = new Set<() => void>();
  private nextNotice = 1;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly get = (): AppState => this.state;

  private set(next: AppState): void {
    if (next === this.state) return;
    this.state = next;
    for (const listener of this.listeners) listener();
  }

  private queue: ServerMessage[] = [];
  private readonly batch = new FrameBatch(() => this.flush());

  /** Queues a message; it is folded with the others of this frame (or at once by `flush`). */
  apply(message: ServerMessage): void {
    this.queue.push(message);
    this.batch.schedule();
  }

  /** Folds every queued message, in order, into one new state: listeners hear once. */
  flush(): void {
    const queued = this.queue;
    if (queued.length === 0) return;
    this.queue = [];
    let s = this.state;
    let workspace = s.workspace;
    for (const message of queued) {
      switch (message.type) {
        case 'hello':
          s = { ...s, workspace, hello: message, backend: message.state };
          workspace = initialWorkspace(message.hosts.map((h) => h.label));
          break;
        case 'state':
          s = { ...s, backend: message.state };
          break;
        case 'event':
          workspace = reduce(workspace, message.session, message.event);
          break;
        case 'events':
          for (const event of message.events) workspace = reduce(workspace, message.session, event);
          break;
        case 'notice':
          s = { ...s, notices: [...s.notices, { id: this.nextNotice++, level: message.level, text: message.text }].slice(-5) };
          break;
        case 'reply':
          break;
      }
    }
    if (workspace !== s.workspace) s = { ...s, workspace };
    this.set(s);
  }

  notify(level: 'info' | 'error', text: string): void {
    this.batch.flush();
    const notice = { id: this.nextNotice++, level, text };
    this.set({ ...this.state, notices: [...this.state.notices, notice].slice(-5) });
  }

  dismiss(id: number): void {
    this.batch.flush();
    this.set({ ...this.state, notices: this.state.notices.filter((n) => n.id !== id) });
  }

  lose(why: string): void {
    this.batch.flush();
    this.set({ ...this.state, lost: why });
  }
}
