/**
 * The session event log (DESIGN.md, "The spine"): everything the engine observes or does is one
 * of these, appended in order to a JSON-lines file. Live views and replay are folds over it.
 *
 * Times: `t` is the controller's wall clock in epoch milliseconds (fractional). Events observed
 * on a host also carry `hostTimeUs`, that host's own wall clock in epoch microseconds; subtract
 * the host's latest `clock` offset to place it on the controller's axis.
 */
import type { TcpState, Seen } from './tcp-states';
import type { SsSocket } from './observations';
import type { FirewallRule } from './experiment-schema';
import type { TcpFlag } from './pcap';

export type HostLabel = string;
export type PaneName = 'upper' | 'lower';

interface EventBase {
  /** Position in the log, from 0. */
  seq: number;
  t: number;
}

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'reconnecting' | 'failed' | 'closed';

export type LabEvent = EventBase &
  (
    | { type: 'session-start'; sessionId: string; tool: string; hosts: Array<{ label: HostLabel; address: string; experimentAddress: string; user: string }>; experiment?: string; port?: number }
    | { type: 'session-end'; reason: string }
    | { type: 'connection'; host: HostLabel; status: ConnectionStatus; detail?: string; attempt?: number }
    | { type: 'clock'; host: HostLabel; offsetMs: number; rttMs: number }
    | { type: 'capability'; host: HostLabel; name: string; ok: boolean; detail: string }
    | { type: 'pane-open'; host: HostLabel; pane: PaneName; cols: number; rows: number }
    | { type: 'pane-resize'; host: HostLabel; pane: PaneName; cols: number; rows: number }
    | { type: 'pane-output'; host: HostLabel; pane: PaneName; data: string }
    /** Keystrokes sent to a pane; a sudo password is never recorded. */
    | { type: 'pane-input'; host: HostLabel; pane: PaneName; data: string; by: 'step' | 'user' }
    | { type: 'pane-close'; host: HostLabel; pane: PaneName; reason: string }
    | { type: 'command'; host: HostLabel; pane: PaneName; text: string; step?: number }
    /** hostTimeUs: host clock as ss started; readUs (absent in older logs): as it finished. */
    | { type: 'snapshot'; host: HostLabel; hostTimeUs: number; readUs?: number; sockets: SsSocket[] }
    | { type: 'trace'; host: HostLabel; hostTimeUs: number; local: string; remote: string; from: TcpState; to: TcpState }
    | { type: 'transition'; host: HostLabel; hostTimeUs: number; local: string; remote: string; state: TcpState; seen: Seen }
    | { type: 'firewall'; host: HostLabel; action: 'add' | 'remove'; command: string; rule?: FirewallRule; owner: string }
    /**
     * One TCP segment on the experiment port as tcpdump saw it on `host` (direction relative to
     * that host; local/remote as `address:port`), or, with `dropped`, as an NFLOG rule logged it
     * just before the experiment's DROP rule ate it. tcpSeq/tcpAck are the raw 32-bit numbers (`seq` is
     * the event's place in the log, as for every event); length
     * is the payload. `frame` is its number (from 1) in the host's pcap file (`<host>.pcap`, or
     * `<host>-dropped.pcap` when dropped), as Wireshark numbers it.
     */
    | { type: 'packet'; host: HostLabel; hostTimeUs: number; direction: 'in' | 'out'; local: string; remote: string; flags: TcpFlag[]; tcpSeq: number; tcpAck: number; length: number; dropped?: boolean; frame?: number }
    | { type: 'step'; index: number; phase: 'ready' | 'start' | 'end' | 'failed'; summary: string; explain?: string; detail?: string }
    | { type: 'note'; host?: HostLabel; text: string }
    | { type: 'result'; passed: boolean; hosts: Record<HostLabel, HostResult> }
  );

export type LabEventType = LabEvent['type'];
/** An event before the log gives it its place and time. */
export type NewLabEvent = LabEvent extends infer E ? (E extends LabEvent ? Omit<E, 'seq' | 't'> : never) : never;

export interface StateRecord {
  state: TcpState;
  /** The host's own wall clock, ISO-8601 with microseconds. */
  hostTime: string;
  seen: Seen;
}

export interface ConnectionResult {
  local: string;
  remote: string;
  states: StateRecord[];
}

export interface HostResult {
  role?: 'client' | 'server';
  /** passes is empty when the promise is that no connection appears (noConnection). */
  expected?: { passes: TcpState[]; endsIn?: TcpState; noConnection?: boolean };
  passed: boolean;
  /** Why it failed, in words; absent when passed. */
  reason?: string;
  /** This run's connections: those first seen after its first step began. */
  connections: ConnectionResult[];
  /**
   * Sockets already on the port when the run began (a TIME_WAIT left by the class's last
   * connection, say): shown apart, never judged. Absent in recordings made before it existed.
   */
  earlier?: ConnectionResult[];
}

/** Epoch microseconds to ISO-8601 with six fractional digits (`2026-11-23T16:28:53.123456Z`). */
export function isoMicros(epochUs: number): string {
  const ms = Math.floor(epochUs / 1000);
  const micros = Math.round(epochUs - ms * 1000);
  const iso = new Date(ms).toISOString(); // ...SS.mmmZ
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}
