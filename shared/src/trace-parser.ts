/**
 * Parser for tracefs text output (`trace_pipe` or `trace`): `sock:inet_sock_set_state` events and
 * the `tcplab-clock <epoch s.ns>` markers the engine writes to `trace_marker`, plus TraceClock,
 * which turns trace time into wall-clock time using those markers. Never throws.
 *
 *   nc-4918    [001] .....  4971.193213: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP
 *       sport=43380 dport=7777 saddr=198.18.77.1 daddr=198.18.77.2 saddrv6=::ffff:198.18.77.1
 *       daddrv6=::ffff:198.18.77.2 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED
 *   bash-4905  [001] ...1.  4970.845166: tracing_mark_write: tcplab-clock 1795471175.118088896
 *
 * A marker may also say how it relates to the trace clock (see TraceClock):
 *   tcplab-clock 1795471175.118088896 tai                     the trace clock is CLOCK_TAI
 *   tcplab-clock 1795471175.118088896 mono 4970.845160123     CLOCK_MONOTONIC read with the wall time
 *
 * The task name may contain spaces and dashes; the flags column (`.....`, `..s2.`) is absent on
 * old kernels or with `options/irq-info` off; `trace` files start with `#` header lines.
 * The kernel reports a client's CLOSE -> SYN_SENT with sport=0 (the port is assigned just after);
 * that is passed on as is (reconcile.ts attaches it to its connection).
 */
import type { Endpoint, TraceClockMarker, TraceTransition } from './observations';
import { tcpStateFromKernel } from './tcp-states';

export interface ParsedTraceTransition extends TraceTransition {
  kind: 'transition';
  /** Task (comm) that was running when the event fired: often not the socket's owner (softirq). */
  task: string;
  pid: number;
  /** CPU number from `[001]`, null if absent. */
  cpu: number | null;
}

export interface ParsedTraceClockMarker extends TraceClockReading {
  kind: 'clock';
}

/**
 * How a host's trace times become wall-clock times, best first:
 * - `tai`: the instance's trace clock is CLOCK_TAI, which is the wall clock plus the kernel's TAI
 *   offset, a whole number of seconds; one marker gives that offset exactly (rounded), so trace
 *   times are exact (the kernel's own timestamps, to the ns).
 * - `mono-sampled`: the trace clock is CLOCK_MONOTONIC, and a helper on the host reads it and the
 *   wall clock tightly around each other (the pair with the smallest gap of many, well under 1 µs
 *   apart), so each marker carries the exact offset between the two clocks.
 * - `markers`: only the wall time written to trace_marker; each marker's trace time is stamped a
 *   write later than its wall time was read, so trace times map early by that latency (tens to
 *   hundreds of µs; the largest offset near a time is used).
 */
export type TraceClockMethod = 'tai' | 'mono-sampled' | 'markers';

/** A marker with what it says about the trace clock (the words after the wall time). */
export interface TraceClockReading extends TraceClockMarker {
  /** `tai` when the trace clock is CLOCK_TAI; `mono` when `clockTimeUs` is CLOCK_MONOTONIC. */
  clock?: 'tai' | 'mono';
  /** The trace clock's own time read together with wallTimeUs (µs). */
  clockTimeUs?: number;
}

export type ParsedTraceLine = ParsedTraceTransition | ParsedTraceClockMarker;

/** The word written to trace_marker before the wall-clock time. */
export const CLOCK_MARKER_WORD = 'tcplab-clock';

/**
 * `<task>-<pid> [(tgid)] [<cpu>] [<flags>] <secs>[.<frac>]: <event>: <payload>`
 * The task is matched lazily up to the first `-<pid>` followed by a CPU or a timestamp.
 */
const LINE =
  /^\s*(.*?)-(\d{1,10})\s+(?:\(\s*(?:\d+|-+)\)\s+)?(?:\[(\d{1,6})\]\s+)?(?:([^\s\d]\S{0,7})\s+)?(\d{1,15})(?:\.(\d{1,9}))?:\s+([A-Za-z0-9_]+):\s?(.*)$/;

/** One line of trace output; null for anything that is not one of our events (never throws). */
export function parseTraceLine(line: string): ParsedTraceLine | null {
  try {
    return parseLine(line);
  } catch {
    return null;
  }
}

export interface TraceParseResult {
  transitions: ParsedTraceTransition[];
  markers: ParsedTraceClockMarker[];
  /** Lines that were not blank, not `#` comments, and not a recognised event (kept for logs). */
  skipped: string[];
}

/** A whole `trace` file or a chunk of `trace_pipe` (whole lines). */
export function parseTrace(text: string): TraceParseResult {
  const result: TraceParseResult = { transitions: [], markers: [], skipped: [] };
  if (typeof text !== 'string') return result;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const parsed = parseTraceLine(line);
    if (parsed === null) result.skipped.push(line);
    else if (parsed.kind === 'clock') result.markers.push(parsed);
    else result.transitions.push(parsed);
  }
  return result;
}

function parseLine(line: string): ParsedTraceLine | null {
  if (typeof line !== 'string' || line.length > 4096) return null;
  const trimmedStart = line.trimStart();
  if (trimmedStart === '' || trimmedStart.startsWith('#')) return null;
  const m = LINE.exec(line);
  if (!m) return null;
  const [, task = '', pidText = '', cpuText, , secsText = '', fracText, event = '', payload = ''] = m;
  const traceTimeUs = toMicros(secsText, fracText);
  if (traceTimeUs === null) return null;

  if (event === 'tracing_mark_write' || event === 'print') {
    const marker = parseClockPayload(payload);
    return marker === null ? null : { kind: 'clock', traceTimeUs, ...marker };
  }
  if (event !== 'inet_sock_set_state' && event !== 'tcp_set_state') return null;
  const fields = parseFields(payload);
  const protocol = fields.get('protocol');
  if (protocol !== undefined && protocol !== 'IPPROTO_TCP') return null;
  const from = tcpStateFromKernel(fields.get('oldstate') ?? '');
  const to = tcpStateFromKernel(fields.get('newstate') ?? '');
  if (from === undefined || to === undefined) return null;
  const sport = parsePort(fields.get('sport'));
  const dport = parsePort(fields.get('dport'));
  if (sport === null || dport === null) return null;

  const familyText = fields.get('family');
  let family: 'inet' | 'inet6';
  if (familyText === 'AF_INET') family = 'inet';
  else if (familyText === 'AF_INET6') family = 'inet6';
  else if (familyText === undefined) family = guessFamily(fields);
  else return null;

  const saddr = family === 'inet' ? fields.get('saddr') : fields.get('saddrv6');
  const daddr = family === 'inet' ? fields.get('daddr') : fields.get('daddrv6');
  if (saddr === undefined || daddr === undefined) return null;
  if (!looksLikeAddress(saddr, family) || !looksLikeAddress(daddr, family)) return null;

  const local: Endpoint = { address: saddr, port: sport };
  const remote: Endpoint = { address: daddr, port: dport };
  return {
    kind: 'transition',
    traceTimeUs,
    family,
    local,
    remote,
    from,
    to,
    task: task.trim(),
    pid: Number(pidText),
    cpu: cpuText === undefined ? null : Number(cpuText),
  };
}

/** `<secs>` and optional fraction digits to integer microseconds (extra digits truncated). */
function toMicros(secsText: string, fracText: string | undefined): number | null {
  const secs = Number(secsText);
  if (!Number.isSafeInteger(secs)) return null;
  const frac = fracText === undefined ? 0 : Number((fracText + '000000').slice(0, 6));
  const us = secs * 1_000_000 + frac;
  return Number.isSafeInteger(us) ? us : null;
}

function parseClockPayload(payload: string): Pick<TraceClockReading, 'wallTimeUs' | 'clock' | 'clockTimeUs'> | null {
  const m = /^\s*tcplab-clock\s+(\d{1,12})(?:\.(\d{1,9}))?(?:\s+(tai|mono(?:\s+(\d{1,15})(?:\.(\d{1,9}))?)))?\s*$/.exec(payload);
  if (!m || m[1] === undefined) return null;
  const wallTimeUs = toMicros(m[1], m[2]);
  if (wallTimeUs === null) return null;
  if (m[3] === 'tai') return { wallTimeUs, clock: 'tai' };
  if (m[3] === undefined || m[4] === undefined) return { wallTimeUs };
  // Both truncated to whole µs, as trace times are: the pair's offset is within 1 µs.
  const clockTimeUs = toMicros(m[4], m[5]);
  return clockTimeUs === null ? null : { wallTimeUs, clock: 'mono', clockTimeUs };
}

function parseFields(payload: string): Map<string, string> {
  const fields = new Map<string, string>();
  const re = /(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(payload)) !== null) {
    if (m[1] !== undefined && !fields.has(m[1])) fields.set(m[1], m[2] ?? '');
  }
  return fields;
}

function parsePort(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

/** Kernels before 4.16 (`tcp:tcp_set_state`) print no family: IPv4 if the v6 address is mapped. */
function guessFamily(fields: Map<string, string>): 'inet' | 'inet6' {
  const v6 = fields.get('saddrv6');
  if (v6 === undefined) return 'inet';
  if (/^::ffff:\d/i.test(v6)) return 'inet';
  const v4 = fields.get('saddr');
  return v4 !== undefined && v4 !== '0.0.0.0' ? 'inet' : 'inet6';
}

function looksLikeAddress(text: string, family: 'inet' | 'inet6'): boolean {
  if (family === 'inet') return /^\d{1,3}(\.\d{1,3}){3}$/.test(text);
  return text.length <= 45 && /^[0-9a-fA-F:.]+$/.test(text) && text.includes(':');
}

/** Markers within this distance of a trace time are used to map it (see toWallUs). */
export const MARKER_WINDOW_US = 30_000_000;

interface ClockEntry {
  traceTimeUs: number;
  /** wall - trace as the marker gives it (for `mono`, wall - the monotonic time read with it). */
  offsetUs: number;
  method: TraceClockMethod;
}

/**
 * Maps trace time (µs, the instance's clock) to wall-clock epoch µs from `tcplab-clock` markers.
 * Markers that say how they relate to the trace clock (`tai`, `mono <time>`) give the exact
 * offset; plain ones (older tracers, kernels without `tai` and hosts without python3) give an
 * offset short by each marker's write latency. See TraceClockMethod.
 */
export class TraceClock {
  private readonly markers: ClockEntry[] = [];

  constructor(markers: Iterable<TraceClockReading> = []) {
    for (const m of markers) this.add(m);
  }

  add(marker: TraceClockReading): void {
    if (!Number.isFinite(marker.traceTimeUs) || !Number.isFinite(marker.wallTimeUs)) return;
    let entry: ClockEntry;
    if (marker.clock === 'mono' && marker.clockTimeUs !== undefined) {
      if (!Number.isFinite(marker.clockTimeUs)) return;
      entry = { traceTimeUs: marker.traceTimeUs, offsetUs: marker.wallTimeUs - marker.clockTimeUs, method: 'mono-sampled' };
    } else {
      entry = { traceTimeUs: marker.traceTimeUs, offsetUs: marker.wallTimeUs - marker.traceTimeUs, method: marker.clock === 'tai' ? 'tai' : 'markers' };
    }
    let i = this.markers.length;
    while (i > 0 && (this.markers[i - 1]?.traceTimeUs ?? 0) > entry.traceTimeUs) i--;
    this.markers.splice(i, 0, entry);
  }

  get size(): number {
    return this.markers.length;
  }

  /** The best method among the markers seen (null before the first). */
  get method(): TraceClockMethod | null {
    if (this.markers.length === 0) return null;
    if (this.markers.some((m) => m.method === 'tai')) return 'tai';
    if (this.markers.some((m) => m.method === 'mono-sampled')) return 'mono-sampled';
    return 'markers';
  }

  /**
   * Wall-clock epoch µs for a trace time, or null when no marker has been seen.
   *
   * `mono-sampled`: the nearest such marker's offset, exact (it changes only when the wall clock
   * is stepped, so the nearest marker follows a step).
   * `tai`: the offset is the TAI offset, whole seconds, short by the marker's write latency (µs to
   * ms): rounded to the second. The marker with the least latency nearby is used, as below.
   * `markers`: a marker's wall time is read just before the write that stamps its trace time, so
   * each marker's offset falls short of the true one by that gap; the largest offset among the
   * markers within MARKER_WINDOW_US of the trace time is the best estimate. The window keeps
   * clock slewing (NTP) over a long session from mattering. Without markers nearby, the nearest
   * marker is used.
   */
  toWallUs(traceTimeUs: number): number | null {
    const method = this.method;
    if (method === null) return null;
    let best: number | undefined;
    let nearest: ClockEntry | undefined;
    for (const m of this.markers) {
      if (m.method !== method) continue;
      const distance = Math.abs(m.traceTimeUs - traceTimeUs);
      if (method !== 'mono-sampled' && distance <= MARKER_WINDOW_US && (best === undefined || m.offsetUs > best)) best = m.offsetUs;
      if (nearest === undefined || distance < Math.abs(nearest.traceTimeUs - traceTimeUs)) nearest = m;
    }
    const offset = best ?? nearest!.offsetUs; // at least one marker has the method
    return traceTimeUs + (method === 'tai' ? Math.round(offset / 1e6) * 1e6 : offset);
  }
}
