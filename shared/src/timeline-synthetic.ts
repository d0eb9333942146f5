/**
 * A synthetic session log of any size, shaped like the real ones (two hosts with clock offsets,
 * per connection: handshake, data, teardown packets seen on both hosts, the transitions of both
 * sides, a command and a Ctrl-C), for the timeline's scale test and benchmark. Deterministic.
 */
import type { LabEvent, NewLabEvent } from './events';
import type { TcpFlag } from './pcap';
import type { TcpState } from './tcp-states';

/** About 12 events per connection: 10,000 connections make about 119,000 events. */
export function synthesizeSession(connections: number, options: { offsetsMs?: Record<'H1' | 'H2', number>; startUs?: number } = {}): LabEvent[] {
  const offsets = options.offsetsMs ?? { H1: 3.5, H2: -2.25 };
  const t0 = options.startUs ?? 1_795_000_000_000_000;
  const events: LabEvent[] = [];
  const push = (tUs: number, e: NewLabEvent): void => {
    events.push({ seq: events.length, t: tUs / 1000, ...e } as LabEvent);
  };
  push(t0, { type: 'session-start', sessionId: 'synthetic', tool: 'tcplab', hosts: [{ label: 'H1', address: '10.0.0.1', experimentAddress: '10.0.0.1', user: 'lab' }, { label: 'H2', address: '10.0.0.2', experimentAddress: '10.0.0.2', user: 'lab' }], port: 7777 });
  push(t0, { type: 'clock', host: 'H1', offsetMs: offsets.H1, rttMs: 0.4 });
  push(t0, { type: 'clock', host: 'H2', offsetMs: offsets.H2, rttMs: 0.4 });
  const host = (label: 'H1' | 'H2', controllerUs: number): number => controllerUs + offsets[label] * 1000;
  for (let i = 0; i < connections; i++) {
    const base = t0 + 1000 + i * 5000; // a connection every 5 ms, overlapping the next ones
    const client = `10.0.0.1:${10000 + (i % 50000)}`;
    const server = '10.0.0.2:7777';
    const isn = (i * 7919) >>> 0;
    const packet = (at: number, from: 'H1' | 'H2', flags: TcpFlag[], seq: number, ack: number, length: number, dropped = false): void => {
      const to = from === 'H1' ? 'H2' : 'H1';
      const [src, dst] = from === 'H1' ? [client, server] : [server, client];
      push(at, { type: 'packet', host: from, hostTimeUs: host(from, at), direction: 'out', local: src, remote: dst, flags, tcpSeq: seq, tcpAck: ack, length, ...(dropped ? { dropped } : {}) });
      if (!dropped) push(at + 40, { type: 'packet', host: to, hostTimeUs: host(to, at + 40), direction: 'in', local: dst, remote: src, flags, tcpSeq: seq, tcpAck: ack, length });
    };
    const transition = (at: number, label: 'H1' | 'H2', state: TcpState): void => {
      const [local, remote] = label === 'H1' ? [client, server] : [server, client];
      push(at, { type: 'transition', host: label, hostTimeUs: host(label, at), local, remote, state, seen: 'trace' });
    };
    if (i % 100 === 0) push(base - 10, { type: 'command', host: 'H1', pane: 'upper', text: `nc 10.0.0.2 7777 # ${i}`, step: 3 });
    transition(base, 'H1', 'SYN_SENT');
    packet(base + 1, 'H1', ['SYN'], isn, 0, 0);
    transition(base + 45, 'H2', 'SYN_RECV');
    packet(base + 50, 'H2', ['SYN', 'ACK'], 1000, isn + 1, 0);
    transition(base + 95, 'H1', 'ESTABLISHED');
    packet(base + 100, 'H1', ['ACK'], isn + 1, 1001, 0);
    transition(base + 145, 'H2', 'ESTABLISHED');
    if (i % 100 === 0) push(base + 9000, { type: 'pane-input', host: 'H1', pane: 'upper', data: '\x03', by: 'step' });
    transition(base + 9000, 'H1', 'FIN_WAIT1');
    packet(base + 9001, 'H1', ['FIN', 'ACK'], isn + 1, 1001, 0, i % 10 === 0);
  }
  return events;
}
