/**
 * The session log: the file is the record. A workspace's log lives as long as the lab stays
 * connected (a whole class), taking ten `ss` snapshots a second, so a log with a file must not
 * also keep its events in memory.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionLog } from '../../electron/lab/event-log';
import type { NewLabEvent } from '../../shared/src/events';

const listener: NewLabEvent = {
  type: 'snapshot',
  host: 'H2',
  hostTimeUs: 0,
  readUs: 0,
  sockets: [{ state: 'LISTEN', ssState: 'LISTEN', recvQ: 0, sendQ: 1, local: { address: '0.0.0.0', port: 7777 }, peer: { address: '0.0.0.0', port: null } }],
};

function typical(i: number): NewLabEvent {
  if (i % 100 === 50) return { type: 'pane-output', host: 'H1', pane: 'upper', data: `line ${i}\r\n` };
  return { ...listener, hostTimeUs: i * 200_000, readUs: i * 200_000 } as NewLabEvent;
}

describe('the session log', () => {
  it('with a file, writes every event there in order and keeps none in memory', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tcplab-log-')), 'session.jsonl');
    const log = new SessionLog(path);
    const heard: number[] = [];
    log.on('event', (e) => heard.push(e.seq));
    const count = 20_000; // a little over half an hour of an idle, connected lab
    for (let i = 0; i < count; i++) log.append(typical(i));
    log.close();
    expect(log.events).toHaveLength(0);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { seq: number; type: string });
    expect(lines.map((e) => e.seq)).toEqual([...Array(count).keys()]);
    expect(lines.filter((e) => e.type === 'pane-output')).toHaveLength(count / 100);
    // Listeners (the page's relay, a run's reconciler) still hear each one, as it is written.
    expect(heard).toEqual(lines.map((e) => e.seq));
  });

  it('with no file (previews, tests), keeps every event in memory, pane output included', () => {
    const log = new SessionLog();
    for (let i = 0; i < 300; i++) log.append(typical(i));
    expect(log.events.map((e) => e.seq)).toEqual([...Array(300).keys()]);
    expect(log.events.filter((e) => e.type === 'pane-output')).toHaveLength(3);
  });
});
