/**
 * The `report` request's engine side (electron/web/run-reports.ts) on a recorded lost-fin run,
 * and its place in the LabApi contract. The report itself is tested in figures.test.ts; here:
 * which run, where the file goes, what the reply carries, and the refusals.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../electron/figures/report';
import { RunReports } from '../../electron/web/run-reports';
import type { HostResult } from '../../shared/src/events';
import { parseClientMessage, parseReplyResult } from '../../shared/src/lab-api';

const LOST_FIN = resolve(__dirname, '../fixtures/sessions/lost-fin');

function runDir(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'tcplab-reports-')), name);
  cpSync(LOST_FIN, dir, { recursive: true });
  return dir;
}

describe('the report request', () => {
  it('writes report.html into the last run\'s folder and answers with its path and text', async () => {
    const first = runDir('first-lost-fin');
    const last = runDir('last-lost-fin');
    const reports = new RunReports();
    reports.started('0000000a', 'lost-fin', first);
    reports.finished('0000000a');
    reports.started('0000000b', 'lost-fin', last);
    reports.finished('0000000b');

    const reply = await reports.report(undefined);
    expect(reply.file).toBe(join(last, 'report.html'));
    expect(reply.experiment).toBe('lost-fin');
    expect(reply.html).toBe(readFileSync(reply.file, 'utf8'));
    expect(reply.bytes).toBe(Buffer.byteLength(reply.html!));
    expect(reply.html).toContain('<td class="mono">FIN_WAIT1</td>');
    // The reply passes the contract, and fits in one message with room to spare.
    expect(parseReplyResult('report', reply).ok).toBe(true);
    expect(reply.bytes).toBeLessThan(1024 * 1024);

    const named = await reports.report('0000000a');
    expect(named.file).toBe(join(first, 'report.html'));
    rmSync(resolve(first, '..'), { recursive: true });
    rmSync(resolve(last, '..'), { recursive: true });
  });

  it('lists a socket left on the port from before the run apart, as not judged', async () => {
    const dir = runDir('earlier-lost-fin');
    const file = join(dir, 'result.json');
    const result = JSON.parse(readFileSync(file, 'utf8')) as { hosts: Record<string, HostResult> };
    const leftover = { local: '198.18.77.1:40000', remote: '198.18.77.2:7777', states: [{ state: 'TIME_WAIT' as const, hostTime: '2026-11-23T16:28:40.000000Z', seen: 'poll' as const }] };
    result.hosts.H1!.earlier = [leftover];
    writeFileSync(file, JSON.stringify(result));
    const html = await buildReport(dir);
    expect(html).toContain('<caption><span class="mono">198.18.77.1:40000 → 198.18.77.2:7777</span> <small>(on the port before the run; not judged)</small></caption>');
    // This run's own connection is captioned without the note.
    expect(html).toContain('<caption><span class="mono">198.18.77.1:57020 → 198.18.77.2:7777</span></caption>');
    rmSync(resolve(dir, '..'), { recursive: true });
  });

  it('refuses, in words, a run that is still going, an unknown session, and no run at all', async () => {
    const reports = new RunReports();
    await expect(reports.report(undefined)).rejects.toThrow(/No experiment has been run yet/);
    const dir = runDir('going-lost-fin');
    reports.started('0000000c', 'lost-fin', dir);
    await expect(reports.report('0000000c')).rejects.toThrow(/still going/);
    await expect(reports.report('0000000d')).rejects.toThrow(/No run of this app has the session 0000000d/);
    rmSync(resolve(dir, '..'), { recursive: true });
  });

  it('is part of LabApi: a session id or none, nothing else', () => {
    const request = (r: unknown) => parseClientMessage({ type: 'request', id: 1, request: r });
    expect(request({ method: 'report' }).ok).toBe(true);
    expect(request({ method: 'report', session: '0123abcd' }).ok).toBe(true);
    const bad = request({ method: 'report', session: '../../etc' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/session: must be a session id/);
    expect(request({ method: 'report', file: '/etc/passwd' }).ok).toBe(false);
  });
});
