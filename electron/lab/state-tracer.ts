/**
 * Every TCP state transition from the kernel tracepoint sock:inet_sock_set_state, read through a
 * private tracefs instance (instances/tcplab-<session>-<host>) filtered to the experiment port,
 * so nothing else on the host is disturbed. The instance is removed when our channel closes
 * (stdin EOF, also when the SSH connection drops); instances left by a crashed controller are
 * removed at the next connect (removeStaleTraceInstances).
 *
 * Trace timestamps use the instance's `tai` clock when the kernel offers it (CLOCK_TAI: the wall
 * clock plus a whole number of seconds, so trace times are the kernel's own wall-clock times),
 * else `mono`. A marker `tcplab-clock <wall time> ...` written once a second maps them to the
 * host's wall clock (see TraceClock and TraceClockMethod in shared/): with `mono`, a python3
 * helper reads both clocks tightly around each other for each marker; without python3, the marker
 * carries the wall time alone and trace times map early by its write latency (up to ~0.2 ms).
 */
import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import type { TraceTransition } from '../../shared/src/observations';
import { parseTraceLine, TraceClock, type TraceClockMethod } from '../../shared/src/trace-parser';
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

/** `auto`: the best the host offers; the others force a fallback (tests, bench). */
export type TraceClockChoice = 'auto' | 'mono-sampled' | 'markers';

/** TCPLAB_TRACE_CLOCK=mono-sampled|markers forces a fallback, so the lab tests can check each one here. */
export function traceClockChoice(env: string | undefined = process.env.TCPLAB_TRACE_CLOCK): TraceClockChoice {
  return env === 'mono-sampled' || env === 'markers' ? env : 'auto';
}

/**
 * Writes `tcplab-clock <wall> mono <monotonic>` to the file in argv[1] once a second: of 100
 * (wall, mono, wall) reads, the one with the smallest gap (~0.2 µs here), wall taken midway.
 * It ends with the tracer's shell (its parent), so it never holds the instance open after it.
 * Only double quotes: the script goes into the tracer's shell in single quotes.
 */
const MONO_SAMPLER = `import os, sys, time
fd, parent = os.open(sys.argv[1], os.O_WRONLY), os.getppid()
R, M, g = time.CLOCK_REALTIME, time.CLOCK_MONOTONIC, time.clock_gettime_ns
while os.getppid() == parent:
    best = None
    for _ in range(100):
        a = g(R); m = g(M); b = g(R)
        if best is None or b - a < best[0]:
            best = (b - a, (a + b) // 2, m)
    _, w, m = best
    os.write(fd, ("tcplab-clock %d.%09d mono %d.%09d\\n" % (w // 10**9, w % 10**9, m // 10**9, m % 10**9)).encode())
    time.sleep(1)
`;

export function tracerScript(instance: string, port: number, clock: TraceClockChoice = 'auto'): string {
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
CLK=${clock}
if [ $CLK = auto ] && grep -qw tai "$I/trace_clock" && echo tai > "$I/trace_clock" 2>/dev/null; then CLK=tai
else
  echo mono > "$I/trace_clock"
  [ $CLK = markers ] || { python3 -c 'import time; time.clock_gettime_ns' 2>/dev/null && CLK=mono-sampled || CLK=markers; }
fi
echo 'sport == ${port} || dport == ${port}' > "$E/filter"
echo 1 > "$E/enable"
cat "$I/trace_pipe" & CAT=$!
# $EPOCHREALTIME (bash 5) is read with no fork, microseconds before the write stamps the marker.
marks() { while :; do echo "tcplab-clock \${EPOCHREALTIME:-$(date +%s.%N)}$1" > "$I/trace_marker"; sleep 1; done; }
case $CLK in
  tai) marks ' tai' & MARK=$! ;;
  mono-sampled) python3 -c '${MONO_SAMPLER}' "$I/trace_marker" & MARK=$! ;;
  *) marks '' & MARK=$! ;;
esac
echo "tcplab-tracer-clock $CLK"
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
  /** How this host's trace times are mapped to its wall clock, as the tracer chose (see TraceClockMethod). */
  clockMethod: TraceClockMethod | undefined;

  constructor(
    private readonly host: SshHost,
    readonly instance: string,
    private readonly port: number,
    private readonly clockChoice: TraceClockChoice = traceClockChoice(),
  ) {
    super();
  }

  /** For the session log's tracepoint capability: how exact the host's trace times are. */
  get clockDetail(): string {
    switch (this.clockMethod) {
      case 'tai':
        return 'trace clock tai: the kernel\'s wall-clock times, exact';
      case 'mono-sampled':
        return 'trace clock mono, mapped to wall time by python3 reading both clocks (within 1 µs)';
      case 'markers':
        return 'trace clock mono, mapped by trace_marker writes (times early by the write latency, up to ~0.2 ms)';
      default:
        return 'trace clock unknown';
    }
  }

  /** Resolves true when tracing runs, false (with `unavailable` set) when the host cannot trace. */
  async start(): Promise<boolean> {
    const channel = await this.host.openExec(`bash -c ${shellQuote(tracerScript(this.instance, this.port, this.clockChoice))}`, { root: true });
    this.channel = channel;
    return new Promise((resolve) => {
      let ready = false;
      const stderr: string[] = [];
      channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
      onLines(channel, (line) => {
        if (!ready && line === 'tcplab-tracer-ready') {
          ready = true;
          resolve(true);
        } else if (line.startsWith('tcplab-tracer-clock ')) {
          const method = line.slice('tcplab-tracer-clock '.length);
          if (method === 'tai' || method === 'mono-sampled' || method === 'markers') this.clockMethod = method;
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
