/**
 * Every TCP state transition from the kernel tracepoint sock:inet_sock_set_state, read through a
 * private tracefs instance (instances/tcplab-<session>-<host>) filtered to the experiment port,
 * so nothing else on the host is disturbed. The instance is removed when our channel closes
 * (stdin EOF, also when the SSH connection drops); instances left by a crashed controller are
 * removed at the next connect (removeStaleTraceInstances).
 *
 * Trace timestamps use the instance's `mono` clock. A marker `tcplab-clock <wall time>` written
 * once a second maps them to the host's wall clock (see TraceClock in shared/).
 */
import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import type { TraceTransition } from '../../shared/src/observations';
import { parseTraceLine, TraceClock } from '../../shared/src/trace-parser';
import { shellQuote } from '../../shared/src/safe-values';
import { onLines } from './channel-lines';
import type { SshHost } from './ssh-host';

export const TRACE_INSTANCE_PREFIX = 'tcplab-';

const FIND_TRACEFS = [
  'T=/sys/kernel/tracing',
  '[ -d $T/instances ] || T=/sys/kernel/debug/tracing',
  '[ -d $T/instances ] || { echo "tcplab-tracer-unavailable: tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)"; exit 3; }',
  '[ -d $T/events/sock/inet_sock_set_state ] || { echo "tcplab-tracer-unavailable: this kernel has no sock:inet_sock_set_state tracepoint (Linux 4.16 or later has it)"; exit 3; }',
].join('\n');

export function tracerScript(instance: string, port: number): string {
  return `${FIND_TRACEFS}
I=$T/instances/${instance}
E=$I/events/sock/inet_sock_set_state
[ -d "$I" ] || mkdir "$I" || { echo "tcplab-tracer-unavailable: cannot create $I"; exit 4; }
cleanup() {
  echo 0 > "$E/enable" 2>/dev/null
  kill $CAT $MARK 2>/dev/null; wait 2>/dev/null
  rmdir "$I" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP PIPE
echo mono > "$I/trace_clock"
echo 'sport == ${port} || dport == ${port}' > "$E/filter"
echo 1 > "$E/enable"
cat "$I/trace_pipe" & CAT=$!
# $EPOCHREALTIME (bash 5) is read with no fork, microseconds before the write stamps the marker.
(while :; do echo "tcplab-clock \${EPOCHREALTIME:-$(date +%s.%N)}" > "$I/trace_marker"; sleep 1; done) & MARK=$!
echo tcplab-tracer-ready
while read -r _; do :; done
`;
}

export function staleInstancesScript(liveInstances: readonly string[]): string {
  const keep = liveInstances.map((name) => `[ "$n" = ${shellQuote(name)} ] && continue`).join('\n  ');
  return `${FIND_TRACEFS}
for i in $T/instances/${TRACE_INSTANCE_PREFIX}*; do
  [ -d "$i" ] || continue
  n=$(basename "$i")
  ${keep}
  echo 0 > "$i/events/sock/inet_sock_set_state/enable" 2>/dev/null
  rmdir "$i" && echo "removed $n"
done
exit 0`;
}

export interface TracedTransition extends TraceTransition {
  hostTimeUs: number;
}

export class StateTracer extends EventEmitter<{ transition: [TracedTransition]; error: [Error] }> {
  private channel: ClientChannel | undefined;
  private readonly clock = new TraceClock();
  private pending: TraceTransition[] = [];
  /** Why tracing is not available on this host, when it is not. */
  unavailable: string | undefined;

  constructor(
    private readonly host: SshHost,
    readonly instance: string,
    private readonly port: number,
  ) {
    super();
  }

  /** Resolves true when tracing runs, false (with `unavailable` set) when the host cannot trace. */
  async start(): Promise<boolean> {
    const channel = await this.host.openExec(`bash -c ${shellQuote(tracerScript(this.instance, this.port))}`, { root: true });
    this.channel = channel;
    return new Promise((resolve) => {
      let ready = false;
      const stderr: string[] = [];
      channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
      onLines(channel, (line) => {
        if (!ready && line === 'tcplab-tracer-ready') {
          ready = true;
          resolve(true);
        } else if (line.startsWith('tcplab-tracer-unavailable: ')) {
          this.unavailable = line.slice('tcplab-tracer-unavailable: '.length);
        } else {
          this.onLine(line);
        }
      });
      channel.on('close', () => {
        if (!ready) {
          this.unavailable ??= stderr.join('').trim() || 'the tracer exited before it started';
          resolve(false);
        }
      });
    });
  }

  private onLine(line: string): void {
    const parsed = parseTraceLine(line);
    if (!parsed) return;
    if (parsed.kind === 'clock') {
      this.clock.add(parsed);
      // Transitions seen before the first marker wait for it.
      for (const t of this.pending.splice(0)) this.emitTransition(t);
      return;
    }
    if (this.clock.size === 0) this.pending.push(parsed);
    else this.emitTransition(parsed);
  }

  private emitTransition(t: TraceTransition): void {
    this.emit('transition', { ...t, hostTimeUs: this.clock.toWallUs(t.traceTimeUs) ?? 0 });
  }

  stop(): void {
    this.channel?.end();
    this.channel = undefined;
  }
}

/** Removes tracefs instances of ours that no live session owns (left by a crash). */
export async function removeStaleTraceInstances(host: SshHost, liveInstances: readonly string[]): Promise<string[]> {
  const result = await host.exec(`bash -c ${shellQuote(staleInstancesScript(liveInstances))}`, { root: true });
  return result.stdout.split('\n').filter((line) => line.startsWith('removed '));
}
