/**
 * Packets on the virtual lab: both built-in experiments captured on both hosts (tcpdump through
 * sudo on H2), the lost FIN seen through NFLOG, pcap files that tcpdump itself reads, no capture
 * left running; and the timeline model built from the run's log holds the handshake, the FINs,
 * the ACKs and every transition in the right order across hosts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun, type RunResult } from '../../electron/lab/experiment-runner';
import type { LabEvent } from '../../shared/src/events';
import { parsePcap } from '../../shared/src/pcap';
import { iptablesRules, labHosts, skipReason } from './lab-env';

type PacketEvent = Extract<LabEvent, { type: 'packet' }>;

async function run(id: string): Promise<{ result: RunResult; log: LabEvent[] }> {
  const outDir = mkdtempSync(join(tmpdir(), `tcplab-packets-${id}-`));
  const result = await new ExperimentRun({ experiment: findExperiment(id), hosts: await labHosts(), outDir, typingDelayMs: 0 }).run();
  if (!result.passed) console.error(JSON.stringify(result, null, 2));
  const log = readFileSync(join(outDir, 'session.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as LabEvent);
  return { result, log };
}

function packets(log: LabEvent[], host: string): PacketEvent[] {
  return log.filter((e): e is PacketEvent => e.type === 'packet' && e.host === host);
}

const flagsOf = (p: PacketEvent): string => [...p.flags].sort().join('+');

/** Our tcpdumps still running anywhere on this machine (the hosts are its namespaces). */
function captureProcesses(): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => /tcpdump tcplab-capture=/.test(line));
}

/** Every pcap file of a run, read by tcpdump itself: the number of packets it prints. */
function tcpdumpReads(file: string): number {
  return execFileSync('tcpdump', ['-r', file, '-nn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

describe.skipIf(skipReason)('packets on the virtual lab', () => {
  it('normal-teardown: handshake, data, both FINs and ACKs seen leaving one host and reaching the other', async () => {
    const { result, log } = await run('normal-teardown');
    expect(result.passed).toBe(true);
    for (const host of ['H1', 'H2']) {
      expect(log.find((e) => e.type === 'capability' && e.host === host && e.name === 'packets')).toMatchObject({ ok: true });
    }
    const h1 = packets(log, 'H1');
    const h2 = packets(log, 'H2');
    // H1 is the client: its SYN goes out, H2's SYN-ACK comes in, its ACK goes out.
    const syn = h1.find((p) => flagsOf(p) === 'SYN')!;
    expect(syn).toMatchObject({ direction: 'out', remote: '198.18.77.2:7777', length: 0 });
    const synAck = h1.find((p) => flagsOf(p) === 'ACK+SYN')!;
    expect(synAck).toMatchObject({ direction: 'in', tcpAck: (syn.tcpSeq + 1) >>> 0 });
    expect(h2.find((p) => flagsOf(p) === 'SYN')).toMatchObject({ direction: 'in', tcpSeq: syn.tcpSeq, local: '198.18.77.2:7777', remote: syn.local });
    // "Hello\n" each way.
    expect(h1.filter((p) => p.length === 6).map((p) => p.direction).sort()).toEqual(['in', 'out']);
    // H2 closes first: FIN out on H2, in on H1; then H1's FIN.
    const finsH2 = h2.filter((p) => p.flags.includes('FIN'));
    expect(finsH2.map((p) => p.direction)).toEqual(['out', 'in']);
    expect(h1.filter((p) => p.flags.includes('FIN')).map((p) => p.direction)).toEqual(['in', 'out']);
    // The last ACK (4): H2 acknowledges H1's FIN.
    const h1Fin = h1.find((p) => p.flags.includes('FIN') && p.direction === 'out')!;
    expect(h2.find((p) => p.direction === 'out' && flagsOf(p) === 'ACK' && p.tcpAck === ((h1Fin.tcpSeq + 1) >>> 0))).toBeDefined();
    expect(log.some((e) => e.type === 'packet' && e.dropped)).toBe(false);

    for (const name of ['H1.pcap', 'H2.pcap']) {
      const file = join(result.out, name);
      const parsed = parsePcap(new Uint8Array(readFileSync(file)));
      expect(parsed.error).toBeUndefined();
      expect(parsed.packets.length).toBe(packets(log, name.slice(0, 2)).length);
      expect(tcpdumpReads(file)).toBe(parsed.packets.length);
    }
    expect(captureProcesses()).toEqual([]);
  });

  it('lost-fin: the FIN H1 drops is seen through NFLOG, marked dropped, and never reaches H2', async () => {
    const { result, log } = await run('lost-fin');
    expect(result.passed).toBe(true);
    const h1 = packets(log, 'H1');
    const h2 = packets(log, 'H2');
    const dropped = h1.filter((p) => p.dropped);
    // The FIN and at least one retransmission (about 200 ms later, within the run's 1.5 s).
    expect(dropped.length).toBeGreaterThanOrEqual(2);
    for (const p of dropped) expect(p).toMatchObject({ direction: 'out', remote: '198.18.77.2:7777', tcpSeq: dropped[0]!.tcpSeq });
    expect(dropped.every((p) => p.flags.includes('FIN'))).toBe(true);
    // While the rule is in place, tcpdump on H1 never sees the FIN leave (dropped in OUTPUT before
    // the tap) and H2 never gets it. (At cleanup H2's application is stopped too: its FIN is fine.)
    const ruleRemoved = log.find((e) => e.type === 'firewall' && e.action === 'remove')!.seq;
    const whileDropping = (p: PacketEvent): boolean => p.seq < ruleRemoved && p.flags.includes('FIN');
    expect(h1.filter((p) => whileDropping(p) && !p.dropped && p.direction === 'out')).toEqual([]);
    expect(h2.filter((p) => whileDropping(p) && p.direction === 'in')).toEqual([]);
    // The NFLOG rule went in just before the DROP, with the session's ledger comment, and is gone.
    const added = log.filter((e) => e.type === 'firewall' && e.action === 'add');
    expect(added.map((e) => (e.type === 'firewall' ? e.command : ''))).toEqual([expect.stringContaining('-j NFLOG'), expect.stringContaining('-j DROP')]);
    expect(iptablesRules('H1')).toEqual([]);

    const droppedFile = join(result.out, 'H1-dropped.pcap');
    expect(existsSync(droppedFile)).toBe(true);
    const parsed = parsePcap(new Uint8Array(readFileSync(droppedFile)));
    expect(parsed.packets.length).toBe(dropped.length);
    expect(tcpdumpReads(droppedFile)).toBe(dropped.length);
    expect(captureProcesses()).toEqual([]);
  });
});
