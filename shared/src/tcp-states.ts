/**
 * TCP connection states, spelled as in the article's Table 2 (with underscores), plus the
 * translations from what the two observation sources print: `ss` and the kernel tracepoint.
 */
export const TCP_STATES = [
  'CLOSED',
  'LISTEN',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'CLOSING',
  'TIME_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
] as const;

export type TcpState = (typeof TCP_STATES)[number];

export function isTcpState(value: string): value is TcpState {
  return (TCP_STATES as readonly string[]).includes(value);
}

/** `ss` state column names (iproute2) to article names. UNCONN/UNKNOWN have no TCP meaning. */
const SS_STATE_NAMES: Readonly<Record<string, TcpState>> = {
  ESTAB: 'ESTABLISHED',
  'SYN-SENT': 'SYN_SENT',
  'SYN-RECV': 'SYN_RECV',
  'FIN-WAIT-1': 'FIN_WAIT1',
  'FIN-WAIT-2': 'FIN_WAIT2',
  'TIME-WAIT': 'TIME_WAIT',
  CLOSE: 'CLOSED',
  UNCONN: 'CLOSED',
  'CLOSE-WAIT': 'CLOSE_WAIT',
  'LAST-ACK': 'LAST_ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
};

export function tcpStateFromSs(name: string): TcpState | undefined {
  return SS_STATE_NAMES[name];
}

/** Kernel names as the tracepoint prints them (`TCP_FIN_WAIT1`, `TCP_NEW_SYN_RECV`...). */
const KERNEL_STATE_NAMES: Readonly<Record<string, TcpState>> = {
  TCP_ESTABLISHED: 'ESTABLISHED',
  TCP_SYN_SENT: 'SYN_SENT',
  TCP_SYN_RECV: 'SYN_RECV',
  TCP_NEW_SYN_RECV: 'SYN_RECV',
  TCP_FIN_WAIT1: 'FIN_WAIT1',
  TCP_FIN_WAIT2: 'FIN_WAIT2',
  TCP_TIME_WAIT: 'TIME_WAIT',
  TCP_CLOSE: 'CLOSED',
  TCP_CLOSE_WAIT: 'CLOSE_WAIT',
  TCP_LAST_ACK: 'LAST_ACK',
  TCP_LISTEN: 'LISTEN',
  TCP_CLOSING: 'CLOSING',
};

export function tcpStateFromKernel(name: string): TcpState | undefined {
  return KERNEL_STATE_NAMES[name];
}

/** How a state in a connection's history became known. */
export type Seen = 'trace' | 'poll' | 'inferred';
