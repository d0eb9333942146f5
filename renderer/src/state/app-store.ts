/**
 * Everything the screen shows, outside React: the engine's hello and state, the workspace fold,
 * notices. Components read it with useSyncExternalStore; pane output bypasses it (terminals).
 */
import type { BackendState, ServerMessage } from '../../../shared/src/lab-api';
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

  apply(message: ServerMessage): void {
    const s = this.state;
    switch (message.type) {
      case 'hello':
        return this.set({ ...s, hello: message, backend: message.state, workspace: initialWorkspace(message.hosts.map((h) => h.label)) });
      case 'state':
        return this.set({ ...s, backend: message.state });
      case 'event': {
        const workspace = reduce(s.workspace, message.session, message.event);
        return this.set(workspace === s.workspace ? s : { ...s, workspace });
      }
      case 'notice':
        return this.notify(message.level, message.text);
      case 'reply':
        return;
    }
  }

  notify(level: 'info' | 'error', text: string): void {
    const notice = { id: this.nextNotice++, level, text };
    this.set({ ...this.state, notices: [...this.state.notices, notice].slice(-5) });
  }

  dismiss(id: number): void {
    this.set({ ...this.state, notices: this.state.notices.filter((n) => n.id !== id) });
  }

  lose(why: string): void {
    this.set({ ...this.state, lost: why });
  }
}
