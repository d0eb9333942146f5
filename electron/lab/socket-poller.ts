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
  // `read -t` doubles as the sleep: it times out (status > 128); a line from us (pollNow) ends it
  // early for a snapshot at once; EOF (status 1: our side closed stdin) ends the loop.
  // The first line marks the process as this session's (see liveSessionsOn).
  return [
    `: tcplab-session=${sessionId}`,
    'if [ -n "$EPOCHREALTIME" ]; then now() { t=${EPOCHREALTIME/[.,]/}; }; else now() { t=$(( $(date +%s%N) / 1000 )); }; fi',
    'now; next=$t',
    'while :; do',
    `  now; printf '@@snapshot %s\n' "$t"`,
    `  ss -tanoH '( sport = :${port} or dport = :${port} )'`,
    `  now; printf '@@end %s\n' "$t"`,
    `  next=$(( next + ${intervalUs} )); left=$(( next - t ))`,
    `  if [ "$left" -lt 1000 ]; then left=1000; next=$t; fi`,
    `  printf -v fraction %06d $(( left % 1000000 ))`,
    `  read -r -t "$(( left / 1000000 )).$fraction" _; [ $? -ne 1 ] || exit 0`,
    'done',
  ].join('\n');
}

export class SocketPoller extends EventEmitter<{ snapshot: [Snapshot]; error: [Error] }> {
  private channel: ClientChannel | undefined;
  private current: { hostTimeUs: number; lines: string[] } | undefined;

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
    onLines(this.channel, (line) => this.onLine(line));
    this.channel.stderr.on('data', (chunk: Buffer) => this.emit('error', new Error(`${this.host.label}: ss: ${chunk.toString('utf8').trim()}`)));
  }

  private onLine(line: string): void {
    if (line.startsWith('@@snapshot ')) {
      this.current = { hostTimeUs: Number(line.slice(11)), lines: [] };
    } else if (line === '@@end' || line.startsWith('@@end ')) {
      const readUs = Number(line.slice(6));
      if (this.current) {
        const snapshot = { hostTimeUs: this.current.hostTimeUs, readUs: Number.isFinite(readUs) && readUs >= this.current.hostTimeUs ? readUs : this.current.hostTimeUs };
        this.emit('snapshot', { ...snapshot, sockets: parseSs(this.current.lines.join('\n')) });
      }
      this.current = undefined;
    } else {
      this.current?.lines.push(line);
    }
  }

  /**
   * Takes a snapshot now instead of at the next tick. The session asks for one when a traced
   * state waits for a later snapshot to settle it (see LabSession.emitSettledTransitions).
   */
  pollNow(): void {
    this.channel?.write('\n');
  }

  stop(): void {
    this.channel?.end();
    this.channel = undefined;
  }
}
