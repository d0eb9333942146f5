/**
 * What the two observation sources report, after parsing: one row of `ss -tanoH`, and one
 * `sock:inet_sock_set_state` tracepoint line. Parsers live in ss-parser.ts and trace-parser.ts.
 */
import type { TcpState } from './tcp-states';

export interface Endpoint {
  /** IPv4 or IPv6 text without brackets or zone; `*` when ss prints a wildcard. */
  address: string;
  /** null when ss prints `*` for the port. */
  port: number | null;
  /** Interface of a scoped address, when ss prints one (`[fe80::1]%eth0:22`, `127.0.0.53%lo:53`). */
  zone?: string;
}

export type SsTimerName = 'on' | 'keepalive' | 'timewait' | 'persist' | 'delack' | 'unknown';

export interface SsTimer {
  name: SsTimerName;
  /** Time until expiry in milliseconds (`59sec` -> 59000, `1min2sec` -> 62000, `200ms` -> 200). */
  expiresMs: number;
  /** Retransmission or probe count (the third field of `timer:(…)`). */
  retransmits: number;
}

export interface SsSocket {
  /** null when ss printed a state with no TCP meaning (UNKNOWN) */
  state: TcpState | null;
  /** The state word exactly as ss printed it (`ESTAB`, `FIN-WAIT-2`...), or given by the filter. */
  ssState: string;
  recvQ: number;
  sendQ: number;
  local: Endpoint;
  peer: Endpoint;
  timer?: SsTimer;
}

export interface TraceTransition {
  /** Set by the trace parser, so a parsed line can be told from a clock marker. */
  kind?: 'transition';
  /** Trace clock timestamp in microseconds, as printed by tracefs (mono clock in our instances). */
  traceTimeUs: number;
  /** AF_INET or AF_INET6 */
  family: 'inet' | 'inet6';
  local: Endpoint;
  remote: Endpoint;
  from: TcpState;
  to: TcpState;
}

/** `tcplab-clock <epoch seconds.nanoseconds>` written to trace_marker: maps trace time to wall time. */
export interface TraceClockMarker {
  /** Set by the trace parser, so a parsed line can be told from a transition. */
  kind?: 'clock';
  traceTimeUs: number;
  wallTimeUs: number;
}

export function formatEndpoint(e: Endpoint): string {
  const host = e.address.includes(':') ? `[${e.address}]` : e.address;
  return `${host}:${e.port === null ? '*' : e.port}`;
}
