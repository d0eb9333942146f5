/**
 * Socket snapshots: one long-lived exec channel on the host runs `ss -tanoH` for the experiment
 * port every interval and stamps each snapshot with the host's own clock. One channel instead of
 * one per poll keeps 5 polls a second cheap. Closing our end (stdin EOF) stops the loop.
 */
import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import type { SsSocket } from '../../shared/src/observations';
import { parseSs } from '../../shared/src/ss-parser';
import { shellQuote } from '../../shared/src/safe-values';
import { onLines } from './channel-lines';
import type { SshHost } from './ssh-host';

export interface Snapshot {
  /** Host clock just before ss ran: everything it lists was read after this. */
  hostTimeUs: number;
  /** Host clock once ss had finished: a state it lists was entered by then (see reconcile.ts). */
  readUs: number;
  sockets: SsSocket[];
}

export function pollerScript(port: number, intervalMs: number, sessionId: string): string {
  const intervalUs = Math.round(intervalMs * 1000);
  // Ticks are scheduled from bash's microsecond clock ($EPOCHREALTIME, bash 5), so the period
  // stays at intervalMs however long ss takes; older shells fall back to date and a fixed wait.
  // `now` sets $t instead of printing it: a $(...) forks a subshell, and four of those a
  // snapshot cost tens of milliseconds on a busy host, in the time a waiting state waits for.
  // `read -t` doubles as the sleep: it times out (status > 128); a line from us (pollNow: a
  // request id) ends it early for a snapshot at once, which names the request; EOF (status 1: our
  // side closed stdin) ends the loop. `@@end` says when the next tick will be at the earliest:
  // until then, no snapshot starts unless we ask (see snapshotsCompleteBeforeUs).
  // The first line marks the process as this session's (see liveSessionsOn).
  return [
    `: tcplab-session=${sessionId}`,
    'if [ -n "$EPOCHREALTIME" ]; then now() { t=${EPOCHREALTIME/[.,]/}; }; else now() { t=$(( $(date +%s%N) / 1000 )); }; fi',
    'now; next=$t; request=',
    'while :; do',
    `  now; printf '@@snapshot %s %s\n' "$t" "$request"`,
    `  ss -tanoH '( sport = :${port} or dport = :${port} )'`,
    '  now',
    `  next=$(( next + ${intervalUs} )); left=$(( next - t ))`,
    `  if [ "$left" -lt 1000 ]; then left=1000; next=$t; fi`,
    `  printf '@@end %s %s\n' "$t" "$(( t + left ))"`,
    `  printf -v fraction %06d $(( left % 1000000 ))`,
    `  request=; read -r -t "$(( left / 1000000 )).$fraction" request; [ $? -ne 1 ] || exit 0`,
    'done',
  ].join('\n');
}

/**
 * Follows the poller's output: snapshots, the requests they answer, and when the next tick is
 * due. Separate from the channel so the script's own output can be checked line by line.
 */
export class PollerLines {
  private current: { hostTimeUs: number; request: number; lines: string[] } | undefined;
  private requested = 0;
  private answered = 0;
  /** The latest arrived snapshot's start, and the tick it announced. */
  private latestStartUs = -Infinity;
  private announcedTickUs = -Infinity;

  /** onStart: a snapshot has begun (its first line is in), which may settle states at once. */
  constructor(
    private readonly onSnapshot: (snapshot: Snapshot) => void,
    private readonly onStart: () => void = () => {},
  ) {}

  /** The id to send for a snapshot now (a line of its own on the script's stdin). */
  nextRequest(): string {
    this.requested++;
    return `${this.requested}`;
  }

  /**
   * Every snapshot the host began before this host time (µs) has arrived. Snapshots arrive in
   * order, so those begun before the latest one's start have. After it, the next begins at the
   * tick it announced, or earlier when a request of ours reaches the host: with every request
   * sent answered, none begins before that tick (one sent later reaches the host after anything
   * we have already heard of happened there). A request sent takes the claim back to the latest
   * start until it is answered, so what was final by it must be remembered (settled-states.ts).
   * While a snapshot is under way, every one begun before it has arrived whatever was asked: the
   * claim is at least its start, known from its first line, an `ss` run before its end.
   */
  snapshotsCompleteBeforeUs(): number {
    const arrived = this.answered >= this.requested ? Math.max(this.latestStartUs, this.announcedTickUs) : this.latestStartUs;
    const underWayUs = this.current && Number.isFinite(this.current.hostTimeUs) ? this.current.hostTimeUs : -Infinity;
    return Math.max(arrived, underWayUs);
  }

  line(line: string): void {
    if (line.startsWith('@@snapshot ')) {
      const [hostTimeUs, request] = line.slice(11).split(' ');
      this.current = { hostTimeUs: Number(hostTimeUs), request: Number(request || 0), lines: [] };
      this.onStart();
    } else if (line === '@@end' || line.startsWith('@@end ')) {
      const [read, nextTick] = line.slice(6).split(' ').map(Number);
      const current = this.current;
      this.current = undefined;
      if (!current) return;
      const readUs = read !== undefined && Number.isFinite(read) && read >= current.hostTimeUs ? read : current.hostTimeUs;
      this.answered = Math.max(this.answered, current.request);
      this.latestStartUs = current.hostTimeUs;
      this.announcedTickUs = nextTick !== undefined && Number.isFinite(nextTick) ? nextTick : -Infinity;
      this.onSnapshot({ hostTimeUs: current.hostTimeUs, readUs, sockets: parseSs(current.lines.join('\n')) });
    } else {
      this.current?.lines.push(line);
    }
  }
}

export class SocketPoller extends EventEmitter<{ snapshot: [Snapshot]; started: []; error: [Error] }> {
  private channel: ClientChannel | undefined;
  private readonly lines = new PollerLines(
    (snapshot) => this.emit('snapshot', snapshot),
    () => this.emit('started'),
  );

  constructor(
    private readonly host: SshHost,
    private readonly port: number,
    private readonly sessionId: string,
    private readonly intervalMs = 200,
  ) {
    super();
  }

  async start(): Promise<void> {
    const script = pollerScript(this.port, this.intervalMs, this.sessionId);
    this.channel = await this.host.openExec(`bash -c ${shellQuote(script)}`);
    onLines(this.channel, (line) => this.lines.line(line));
    this.channel.stderr.on('data', (chunk: Buffer) => this.emit('error', new Error(`${this.host.label}: ss: ${chunk.toString('utf8').trim()}`)));
  }

  /** See PollerLines.snapshotsCompleteBeforeUs. */
  snapshotsCompleteBeforeUs(): number {
    return this.lines.snapshotsCompleteBeforeUs();
  }

  /**
   * Takes a snapshot now instead of at the next tick. The session asks for one when a traced
   * state waits for a later snapshot to settle it (see settled-states.ts).
   */
  pollNow(): void {
    if (this.channel) this.channel.write(`${this.lines.nextRequest()}\n`);
  }

  stop(): void {
    this.channel?.end();
    this.channel = undefined;
  }
}
