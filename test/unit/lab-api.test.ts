import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SessionLog } from '../../electron/lab/event-log';
import type { LabEvent } from '../../shared/src/events';
import {
  batchEvents,
  eachSessionEvent,
  MAX_EVENTS_PER_MESSAGE,
  MAX_PANE_INPUT,
  parseClientMessage,
  parseReplyResult,
  parseServerMessage,
  type ClientMessageInput,
  type ServerMessage,
  type SessionEventMessage,
} from '../../shared/src/lab-api';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

describe('LabApi: messages from the renderer', () => {
  const valid: ClientMessageInput[] = [
    { type: 'request', id: 1, request: { method: 'connect' } },
    { type: 'request', id: 2, request: { method: 'connect', acceptFingerprints: [FP] } },
    { type: 'request', id: 3, request: { method: 'run', experiment: 'lost-fin' } },
    { type: 'request', id: 4, request: { method: 'abort' } },
    { type: 'request', id: 5, request: { method: 'disconnect' } },
    { type: 'pane-input', host: 'H1', pane: 'upper', data: 'ls\r' },
    { type: 'pane-ack', session: '0123abcd', host: 'H2', pane: 'lower', seq: 42 },
    { type: 'pane-resize', host: 'H2', pane: 'upper', cols: 80, rows: 20 },
  ];

  it.each(valid)('accepts %j, from JSON text and as an object', (message) => {
    const fromText = parseClientMessage(JSON.stringify(message));
    expect(fromText.ok).toBe(true);
    expect(parseClientMessage(message)).toEqual(fromText);
  });

  it('fills defaults, so the engine never sees a half-formed request', () => {
    const connect = parseClientMessage({ type: 'request', id: 1, request: { method: 'connect' } });
    expect(connect).toEqual({ ok: true, value: { type: 'request', id: 1, request: { method: 'connect', acceptFingerprints: [] } } });
    const abort = parseClientMessage({ type: 'request', id: 1, request: { method: 'abort' } });
    expect(abort.ok && abort.value.type === 'request' && abort.value.request).toEqual({ method: 'abort', reason: 'stopped from the app' });
  });

  const malformed: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{"type":', /not JSON/],
    ['an unknown message type', { type: 'exec', command: 'rm -rf /' }, /type/],
    ['an unknown method', { type: 'request', id: 1, request: { method: 'shell', command: 'id' } }, /method/],
    ['a request without id', { type: 'request', request: { method: 'disconnect' } }, /id/],
    ['a fractional id', { type: 'request', id: 1.5, request: { method: 'disconnect' } }, /id/],
    ['an extra field smuggled into a request', { type: 'request', id: 1, request: { method: 'disconnect', force: true } }, /force|Unrecognized/i],
    ['an experiment id that is a path', { type: 'request', id: 1, request: { method: 'run', experiment: '../../etc/passwd' } }, /experiment/],
    ['a fingerprint that is not SHA256', { type: 'request', id: 1, request: { method: 'connect', acceptFingerprints: ['MD5:aa:bb'] } }, /SHA256/],
    ['a third host', { type: 'pane-input', host: 'H3', pane: 'upper', data: 'x' }, /host/],
    ['a pane that does not exist', { type: 'pane-input', host: 'H1', pane: 'middle', data: 'x' }, /pane/],
    ['empty input', { type: 'pane-input', host: 'H1', pane: 'upper', data: '' }, /data/],
    ['input larger than a paste', { type: 'pane-input', host: 'H1', pane: 'upper', data: 'x'.repeat(MAX_PANE_INPUT + 1) }, /data/],
    ['a negative acknowledgement', { type: 'pane-ack', session: '0123abcd', host: 'H1', pane: 'upper', seq: -1 }, /seq/],
    ['an acknowledgement for no session', { type: 'pane-ack', session: 'x', host: 'H1', pane: 'upper', seq: 1 }, /session/],
    ['an absurd terminal size', { type: 'pane-resize', host: 'H1', pane: 'upper', cols: 100000, rows: 24 }, /cols/],
    ['null', null, /refused/],
    ['an array', [], /refused/],
  ];

  it.each(malformed)('refuses %s, saying why', (_name, message, why) => {
    const parsed = parseClientMessage(typeof message === 'string' ? message : JSON.stringify(message));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toMatch(/^message from the app refused: /);
      expect(parsed.error).toMatch(why);
    }
  });

  it('never throws, whatever arrives', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.anything()), (raw) => {
        const parsed = parseClientMessage(raw);
        expect(typeof parsed.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('LabApi: messages from the engine', () => {
  it('accepts every event the engine logs, exactly as logged', () => {
    const log = new SessionLog();
    log.append({ type: 'session-start', sessionId: '0123abcd', tool: 'tcplab', hosts: [{ label: 'H1', address: '198.18.78.2', experimentAddress: '198.18.77.1', user: 'root' }], port: 7777 });
    log.append({ type: 'connection', host: 'H1', status: 'connected' });
    log.append({ type: 'pane-output', host: 'H1', pane: 'upper', data: '[16:28:53] H1# ' });
    log.append({
      type: 'snapshot',
      host: 'H1',
      hostTimeUs: 1_763_900_000_000_000,
      sockets: [
        {
          state: 'TIME_WAIT',
          ssState: 'TIME-WAIT',
          recvQ: 0,
          sendQ: 0,
          local: { address: '198.18.77.2', port: 7777 },
          peer: { address: '198.18.77.1', port: 50000 },
          timer: { name: 'timewait', expiresMs: 59000, retransmits: 0 },
        },
      ],
    });
    log.append({ type: 'firewall', host: 'H1', action: 'add', command: 'iptables -A OUTPUT ...', rule: { chain: 'OUTPUT', protocol: 'tcp', dport: '{port}', tcpFlags: { set: ['FIN'] }, action: 'DROP' }, owner: '0123abcd' });
    log.append({ type: 'step', index: 0, phase: 'start', summary: 'H2 upper: nc -l 7777', explain: 'H2 runs a server' });
    log.append({ type: 'transition', host: 'H1', hostTimeUs: 1, local: '198.18.77.1:50000', remote: '198.18.77.2:7777', state: 'FIN_WAIT1', seen: 'trace' });
    log.append({
      type: 'result',
      passed: true,
      hosts: { H1: { role: 'client', expected: { passes: ['ESTABLISHED', 'FIN_WAIT1'], endsIn: 'FIN_WAIT1' }, passed: true, connections: [{ local: 'a', remote: 'b', states: [{ state: 'ESTABLISHED', hostTime: 'x', seen: 'poll' }] }] } },
    });
    log.append({ type: 'session-end', reason: 'finished' });
    for (const event of log.events) {
      const message: ServerMessage = { type: 'event', session: '0123abcd', event };
      const parsed = parseServerMessage(JSON.stringify(message));
      expect(parsed).toEqual({ ok: true, value: message });
    }
  });

  it('refuses an event of an unknown type or with a state TCP does not have', () => {
    const bad = [
      { type: 'event', session: '0123abcd', event: { seq: 0, t: 0, type: 'exec', command: 'x' } },
      { type: 'event', session: '0123abcd', event: { seq: 0, t: 0, type: 'transition', host: 'H1', hostTimeUs: 1, local: 'a', remote: 'b', state: 'HALF_OPEN', seen: 'trace' } },
      { type: 'event', session: '0123abcd', event: { seq: 0, t: 0, type: 'pane-output', host: 'H1', pane: 'upper' } },
      { type: 'reply', id: 1, ok: true },
      { type: 'state', state: { phase: 'exploded' } },
    ];
    for (const message of bad) {
      const parsed = parseServerMessage(JSON.stringify(message));
      expect(parsed.ok, JSON.stringify(message)).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(/^message from the engine refused: /);
    }
  });

  it('checks a reply result against its method', () => {
    expect(parseReplyResult('run', { session: '0123abcd', outDir: '/tmp/x' }).ok).toBe(true);
    expect(parseReplyResult('run', { session: '0123abcd' }).ok).toBe(false);
    expect(parseReplyResult('connect', { session: 'nope' }).ok).toBe(false);
    expect(parseReplyResult('abort', {}).ok).toBe(true);
  });
});

describe('LabApi: events in batches', () => {
  const output = (seq: number, data = 'x'): LabEvent => ({ seq, t: seq, type: 'pane-output', host: 'H1', pane: 'upper', data });
  const single = (session: string, event: LabEvent): SessionEventMessage => ({ type: 'event', session, event });

  it('accepts an events message, from JSON text and as an IPC object, and hands the events out one by one in order', () => {
    const message: ServerMessage = { type: 'events', session: '0123abcd', events: [output(0, 'a'), output(1, 'b'), { seq: 2, t: 2, type: 'note', text: 'n' }] };
    const parsed = parseServerMessage(JSON.stringify(message));
    expect(parsed).toEqual({ ok: true, value: message });
    expect(parseServerMessage(message)).toEqual(parsed);
    const seen: SessionEventMessage[] = [];
    if (parsed.ok && parsed.value.type === 'events') eachSessionEvent(parsed.value, (m) => seen.push(m));
    expect(seen).toEqual(message.events.map((event) => single('0123abcd', event)));
  });

  it('refuses a malformed batch whole: one bad event, no events, too many, a bad session', () => {
    const bad = [
      { type: 'events', session: '0123abcd', events: [output(0), { seq: 1, t: 1, type: 'exec', command: 'x' }] },
      { type: 'events', session: '0123abcd', events: [output(0), { seq: 1, t: 1, type: 'pane-output', host: 'H1', pane: 'upper' }] },
      { type: 'events', session: '0123abcd', events: [] },
      { type: 'events', session: '0123abcd', events: Array.from({ length: MAX_EVENTS_PER_MESSAGE + 1 }, (_, i) => output(i)) },
      { type: 'events', session: 'nope', events: [output(0)] },
      { type: 'events', session: '0123abcd', event: output(0) },
      { type: 'events', session: '0123abcd', events: [output(0)], extra: 1 },
    ];
    for (const message of bad) {
      expect(parseServerMessage(JSON.stringify(message)).ok, JSON.stringify(message).slice(0, 200)).toBe(false);
      expect(parseServerMessage(message).ok).toBe(false);
    }
  });

  it('packs consecutive events of a session, splitting at a session change, the count limit and the size budget, keeping order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ session: fc.constantFrom('0123abcd', '89abcdef'), size: fc.integer({ min: 1, max: 400 }) }), { maxLength: 300 }),
        fc.integer({ min: 50, max: 1000 }),
        (items, budget) => {
          const messages = items.map((item, i) => single(item.session, output(i, 'x'.repeat(item.size))));
          const sizeOf = (event: LabEvent): number => (event.type === 'pane-output' ? event.data.length : 0);
          const batches = batchEvents(messages, sizeOf, budget);
          const back: SessionEventMessage[] = [];
          for (const b of batches) {
            expect(parseServerMessage(JSON.stringify(b)).ok).toBe(true);
            if (b.type === 'events') {
              expect(b.events.length).toBeGreaterThan(1);
              expect(b.events.length).toBeLessThanOrEqual(MAX_EVENTS_PER_MESSAGE);
              // Over the budget only when a single event is larger than it.
              expect(b.events.reduce((n, e) => n + sizeOf(e), 0)).toBeLessThanOrEqual(budget);
            }
            eachSessionEvent(b, (m) => back.push(m));
          }
          expect(back).toEqual(messages);
          // Neighbours that could have gone together did: a split has a reason.
          for (let k = 1; k < batches.length; k++) {
            const prev = batches[k - 1]!;
            const next = batches[k]!;
            const prevEvents = prev.type === 'events' ? prev.events : [prev.event];
            const firstNext = next.type === 'events' ? next.events[0]! : next.event;
            const size = prevEvents.reduce((n, e) => n + sizeOf(e), 0) + sizeOf(firstNext);
            expect(prev.session !== next.session || prevEvents.length >= MAX_EVENTS_PER_MESSAGE || size > budget).toBe(true);
          }
        },
      ),
    );
  });

  it('keeps an event that says what the engine passed over apart, as an `event` message, in order', () => {
    const messages = [0, 1, 2, 3, 4].map((i) => single('0123abcd', output(i)));
    messages[2] = { ...messages[2]!, passedOver: 1234 };
    const batches = batchEvents(messages, () => 50);
    expect(batches.map((b) => (b.type === 'events' ? b.events.map((e) => e.seq) : [b.event.seq]))).toEqual([[0, 1], [2], [3, 4]]);
    expect(batches[1]).toEqual(messages[2]);
    expect(parseServerMessage(JSON.stringify(batches[1])).ok).toBe(true);
    for (const passedOver of [0, -5, 1.5, '12']) expect(parseServerMessage({ ...messages[2], passedOver }).ok, String(passedOver)).toBe(false);
  });

  it('sends 5,000 events as three messages at most 2,000 each', () => {
    const messages = Array.from({ length: 5000 }, (_, i) => single('0123abcd', output(i)));
    const batches = batchEvents(messages, () => 50);
    expect(batches.map((b) => (b.type === 'events' ? b.events.length : 1))).toEqual([2000, 2000, 1000]);
  });
});
