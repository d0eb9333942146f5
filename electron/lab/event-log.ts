/**
 * The session log: events appended in order to a JSON-lines file as they happen. Each append is
 * a synchronous write to the file descriptor, so a crash loses nothing already appended (the
 * kernel holds it even if this process dies); listeners get each event after it is written.
 */
import { EventEmitter } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { LabEvent, NewLabEvent } from '../../shared/src/events';

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class SessionLog extends EventEmitter<{ event: [LabEvent] }> {
  private fd: number | undefined;
  private seq = 0;
  readonly events: LabEvent[] = [];

  /** With no path, the log lives in memory only (for previews and tests). */
  constructor(readonly path?: string) {
    super();
    if (path) this.fd = openSync(path, 'a');
  }

  append(event: NewLabEvent): LabEvent {
    const full = { seq: this.seq++, t: nowMs(), ...event } as LabEvent;
    if (this.fd !== undefined) writeSync(this.fd, `${JSON.stringify(full)}\n`);
    this.events.push(full);
    this.emit('event', full);
    return full;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
