/**
 * Packets on the experiment port, on each host: `tcpdump -U -w -` (through sudo) on one exec
 * channel streams the capture in pcap form; the bytes are saved as they come
 * (`<outDir>/<label>.pcap`, openable in Wireshark) and parsed (shared/src/pcap.ts) into
 * `packet` events.
 *
 * A packet the experiment's own firewall drops in OUTPUT never reaches tcpdump (the capture tap
 * sits after netfilter on the way out). So every DROP or REJECT rule of a run gets an NFLOG rule
 * with the same match just before it (nflogRuleArguments, same ledger comment, so the ledger
 * removes it with the rest), and a second tcpdump on `nflog:<group>` records what the firewall
 * ate, in `<label>-dropped.pcap` (NFLOG is its own link type: one classic pcap file holds one).
 * The NFLOG rule uses `--nflog-threshold 1`: without it the kernel batches up to a second of
 * log messages and tcpdump stamps them all with the time the batch arrived.
 *
 * Stopping: each tcpdump runs under a small bash wrapper that waits for our end of the channel to
 * close (stdin EOF, also when the SSH connection drops or this process dies) and then stops
 * tcpdump, which flushes its file. tcpdump's argv[0] carries `tcplab-capture=<session>`, so one
 * orphaned by a crash is found and killed at the next connect (removeStaleCaptures). The marker
 * is not `tcplab-session=`: a capture does not keep its session's other leftovers alive.
 */
import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { basename, join } from 'node:path';
import type { ClientChannel } from 'ssh2';
import { formatEndpoint } from '../../shared/src/observations';
import { PcapStreamParser, type TcpPacket } from '../../shared/src/pcap';
import { shellQuote } from '../../shared/src/safe-values';
import type { SessionLog } from './event-log';
import { iptablesCommand } from './firewall-ledger';
import type { SshHost } from './ssh-host';

export const CAPTURE_MARKER = 'tcplab-capture=';

export type CaptureKind = 'packets' | 'dropped';

/** A packet as the session log records it (see the `packet` LabEvent). */
export interface CapturedPacket {
  hostTimeUs: number;
  direction: 'in' | 'out';
  local: string;
  remote: string;
  flags: TcpPacket['flags'];
  /** Raw TCP sequence and acknowledgement numbers (not `seq`: every event has its own, its place in the log). */
  tcpSeq: number;
  tcpAck: number;
  length: number;
  dropped?: boolean;
  /** 1-based record number in the pcap file, as Wireshark numbers frames. */
  frame: number;
}

/** What each distribution calls the package, and the command that installs it. */
const INSTALL_HINT = [
  '. /etc/os-release 2>/dev/null',
  'case " $ID $ID_LIKE " in',
  '  *" debian "*|*" ubuntu "*) fix="sudo apt-get install -y tcpdump" ;;',
  '  *" fedora "*|*" rhel "*|*" centos "*) fix="sudo dnf install -y tcpdump" ;;',
  '  *" alpine "*) fix="sudo apk add tcpdump" ;;',
  '  *" arch "*) fix="sudo pacman -S --noconfirm tcpdump" ;;',
  '  *" suse "*|*" opensuse "*) fix="sudo zypper install -y tcpdump" ;;',
  '  *) fix="install the tcpdump package" ;;',
  'esac',
].join('\n');

/**
 * The wrapper run as root: finds tcpdump (sbin is often off a login's PATH), starts it with the
 * session marker as argv[0], and stops it (SIGINT, so the file is complete) at stdin EOF.
 */
export function captureScript(sessionId: string, kind: CaptureKind, port: number, nflogGroup: number): string {
  const source = kind === 'packets' ? ['-i', 'any', shellQuote(`tcp port ${port}`)] : ['-i', `nflog:${nflogGroup}`];
  return [
    `# ${CAPTURE_MARKER.slice(0, -1)} ${kind}`,
    'T=$(command -v tcpdump 2>/dev/null)',
    'for p in /usr/sbin/tcpdump /sbin/tcpdump /usr/bin/tcpdump; do [ -n "$T" ] || { [ -x $p ] && T=$p; }; done',
    'if [ -z "$T" ]; then',
    INSTALL_HINT,
    '  echo "tcplab-capture-unavailable: tcpdump is not installed; fix: $fix" >&2',
    '  exit 3',
    'fi',
    // --immediate-mode (tcpdump 4.7+): the kernel hands each packet over as it comes. Without it,
    // packets wait in a capture block for up to a second, and those still waiting when tcpdump
    // is stopped never reach the file: a run that ended within a second of its last FIN lost it.
    'I=; "$T" --help 2>&1 | grep -q -e --immediate-mode && I=--immediate-mode',
    // -U: each packet is written as it comes; -n: no DNS; -s 0: whole packets, as Wireshark expects.
    `(exec -a ${shellQuote(`tcpdump ${CAPTURE_MARKER}${sessionId}`)} "$T" $I -U -n -s 0 -w - ${source.join(' ')}) & P=$!`,
    'trap \'kill -INT $P 2>/dev/null; wait $P 2>/dev/null\' EXIT',
    'trap \'exit 0\' INT TERM HUP PIPE',
    'while read -r _; do :; done',
  ].join('\n');
}

/** Arguments of the NFLOG rule that goes just before a DROP/REJECT rule (its -A arguments). */
export function nflogRuleArguments(dropArgs: readonly string[], group: number, sessionId: string): string[] {
  const jump = dropArgs.lastIndexOf('-j');
  if (jump < 0) throw new Error(`not a rule with a target: ${dropArgs.join(' ')}`);
  return [...dropArgs.slice(0, jump), '-j', 'NFLOG', '--nflog-group', String(group), '--nflog-prefix', `tcplab:${sessionId}`, '--nflog-threshold', '1'];
}

/** A TcpPacket from a host's capture -> the event fields, seen from that host. */
export function toCapturedPacket(packet: TcpPacket, ownAddresses: readonly string[], dropped: boolean): CapturedPacket {
  const src = formatEndpoint({ address: packet.srcAddress, port: packet.srcPort });
  const dst = formatEndpoint({ address: packet.dstAddress, port: packet.dstPort });
  // Cooked and NFLOG captures say which way the packet went; otherwise our own address decides.
  const direction = packet.direction ?? (ownAddresses.includes(packet.srcAddress) ? 'out' : 'in');
  return {
    hostTimeUs: packet.timeUs,
    direction,
    local: direction === 'out' ? src : dst,
    remote: direction === 'out' ? dst : src,
    flags: packet.flags,
    tcpSeq: packet.seq,
    tcpAck: packet.ack,
    length: packet.length,
    ...(dropped ? { dropped: true } : {}),
    frame: packet.index + 1,
  };
}

/** One tcpdump on one host: bytes to a file, packets to listeners. */
export class PacketCapture extends EventEmitter<{ packet: [CapturedPacket]; error: [Error] }> {
  private channel: ClientChannel | undefined;
  private output: WriteStream | undefined;
  private readonly parser = new PcapStreamParser();
  private closed: Promise<void> | undefined;
  /** Why capturing is not possible on this host, when it is not. */
  unavailable: string | undefined;
  /** tcpdump's own words on stderr (its "N packets captured" summary at the end). */
  readonly messages: string[] = [];

  constructor(
    private readonly host: SshHost,
    private readonly options: {
      sessionId: string;
      kind: CaptureKind;
      port: number;
      nflogGroup: number;
      file: string;
      ownAddresses: () => readonly string[];
    },
  ) {
    super();
  }

  get kind(): CaptureKind {
    return this.options.kind;
  }

  /** Where the capture is saved (made with the first bytes). */
  get file(): string {
    return this.options.file;
  }

  get records(): number {
    return this.parser.records;
  }

  /** Resolves true once tcpdump listens, false (with `unavailable` set) when it cannot run. */
  async start(timeoutMs = 30_000): Promise<boolean> {
    const { sessionId, kind, port, nflogGroup } = this.options;
    const channel = await this.host.openExec(`bash -c ${shellQuote(captureScript(sessionId, kind, port, nflogGroup))}`, { root: true });
    this.channel = channel;
    this.closed = new Promise((resolve) => channel.on('close', () => resolve()));
    channel.on('data', (chunk: Buffer) => {
      // The file is made with the first bytes (the pcap header): a capture that never ran leaves none.
      if (!this.output) {
        this.output = createWriteStream(this.options.file);
        this.output.on('error', (error) => this.emit('error', error));
      }
      this.output.write(chunk);
      let packets: TcpPacket[];
      try {
        packets = this.parser.push(chunk);
      } catch (error) {
        // The parser is fuzzed not to throw; if it ever does, the file is still being written.
        this.emit('error', error as Error);
        return;
      }
      if (this.parser.error && !this.unavailable) {
        this.unavailable = `the capture is not readable: ${this.parser.error}`;
        this.emit('error', new Error(`${this.host.label}: ${this.unavailable}`));
      }
      for (const packet of packets) this.emit('packet', toCapturedPacket(packet, this.options.ownAddresses(), kind === 'dropped'));
    });
    return new Promise((resolve) => {
      let settled = false;
      let stderr = '';
      const settle = (ok: boolean, why?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!ok) this.unavailable = why ?? 'tcpdump did not start';
        resolve(ok);
      };
      const timer = setTimeout(() => settle(false, `tcpdump did not start within ${timeoutMs / 1000} s${stderr ? `: ${stderr.trim()}` : ''}`), timeoutMs);
      channel.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        for (const line of stderr.split('\n').slice(0, -1)) {
          const text = line.trim();
          // `tcpdump: listening on any, link-type LINUX_SLL2 ...` (the program name is our argv[0]).
          if (/: listening on /.test(text)) settle(true);
          else if (text.startsWith('tcplab-capture-unavailable: ')) settle(false, text.slice('tcplab-capture-unavailable: '.length));
          else if (text) this.messages.push(text);
        }
        stderr = stderr.slice(stderr.lastIndexOf('\n') + 1);
      });
      channel.on('close', () => settle(false, this.messages.join('; ') || 'tcpdump exited before it started'));
    });
  }

  /** Stops tcpdump (it finishes the file) and waits for the last bytes, at most timeoutMs. */
  async stop(timeoutMs = 5000): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    if (channel) {
      channel.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      channel.close();
    }
    const output = this.output;
    this.output = undefined;
    if (output) await new Promise<void>((resolve) => output.end(() => resolve()));
  }
}

/** Kills tcpdumps of ours whose session is no longer alive (left by a crash); returns their pids. */
export async function removeStaleCaptures(host: SshHost, liveSessions: ReadonlySet<string>): Promise<number[]> {
  const listing = await host.run('ps -eo pid=,args=');
  const stale: number[] = [];
  for (const line of listing.split('\n')) {
    const match = /^\s*(\d+)\s+tcpdump tcplab-capture=([0-9a-f]+)\s/.exec(line);
    if (match?.[1] && match[2] && !liveSessions.has(match[2])) stale.push(Number(match[1]));
  }
  if (stale.length > 0) await host.run(`kill ${stale.join(' ')} 2>/dev/null; true`, { root: true });
  return stale;
}

/** What startPacketCaptures needs from the session. */
export interface HostCaptureOptions {
  label: string;
  sessionId: string;
  port: number;
  nflogGroup: number;
  /** Where `<label>.pcap` and `<label>-dropped.pcap` go. */
  dir: string;
  ownAddresses: () => readonly string[];
  log: SessionLog;
  /** 1 for the session's first capture on the host; after a reconnect 2, 3, ... (`<label>.2.pcap`). */
  part?: number;
}

/**
 * Starts both captures on a host and logs what they see; logs a `packets` capability saying
 * whether packets are captured (and if not, the one command that fixes it). Returns the captures
 * that run (none when the host has no tcpdump: the run goes on without packets).
 */
export async function startPacketCaptures(host: SshHost, options: HostCaptureOptions): Promise<PacketCapture[]> {
  const { label, log } = options;
  const make = (kind: CaptureKind): PacketCapture => {
    const suffix = (options.part ?? 1) > 1 ? `.${options.part}` : '';
    const file = join(options.dir, kind === 'packets' ? `${label}${suffix}.pcap` : `${label}-dropped${suffix}.pcap`);
    const capture = new PacketCapture(host, { ...options, kind, file });
    capture.on('packet', (p) => log.append({ type: 'packet', host: label, ...p }));
    capture.on('error', (error) => log.append({ type: 'note', host: label, text: `packet capture: ${error.message}` }));
    return capture;
  };
  const captures = [make('packets'), make('dropped')];
  const started = await Promise.all(captures.map((c) => c.start()));
  const [packets, dropped] = captures as [PacketCapture, PacketCapture];
  const running = captures.filter((_, i) => started[i]);
  if (!started[0]) {
    log.append({ type: 'capability', host: label, name: 'packets', ok: false, detail: `no packets: ${packets.unavailable ?? 'tcpdump did not start'}` });
  } else {
    log.append({ type: 'capability', host: label, name: 'packets', ok: true, detail: `tcpdump on every interface, port ${options.port}, saved as ${basename(packets.file)}` });
  }
  log.append({
    type: 'capability',
    host: label,
    name: 'dropped-packets',
    ok: started[1] === true,
    detail: started[1]
      ? `packets our DROP rules eat, through NFLOG group ${options.nflogGroup}, saved as ${basename(dropped.file)}`
      : `dropped packets are not shown: ${dropped.unavailable ?? 'tcpdump did not start on nflog'}`,
  });
  // A capture that did not start still made its (empty) file and channel: close them.
  await Promise.all(captures.filter((_, i) => !started[i]).map((c) => c.stop(1000)));
  return running;
}

/**
 * Adds the NFLOG rule that goes just before a DROP/REJECT rule of this session (call it right
 * before adding that rule: both are appended, so NFLOG comes first in the chain). Logged as a
 * firewall change before it is made, like every rule of ours, and removed with them by the ledger.
 */
export async function addDropLogRule(host: SshHost, label: string, dropArgs: readonly string[], group: number, sessionId: string, log: SessionLog): Promise<void> {
  const args = nflogRuleArguments(dropArgs, group, sessionId);
  log.append({ type: 'firewall', host: label, action: 'add', command: iptablesCommand(host, '-A', args), owner: sessionId });
  await host.run(`iptables -w -A ${args.join(' ')}`, { root: true });
}
