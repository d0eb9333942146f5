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

export interface ParsedTraceClockMarker extends TraceClockMarker {
  kind: 'clock';
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
    return marker === null ? null : { kind: 'clock', traceTimeUs, wallTimeUs: marker };
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

function parseClockPayload(payload: string): number | null {
  const m = /^\s*tcplab-clock\s+(\d{1,12})(?:\.(\d{1,9}))?\s*$/.exec(payload);
  if (!m || m[1] === undefined) return null;
  return toMicros(m[1], m[2]);
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

/**
 * Maps trace time (µs, the instance's clock) to wall-clock epoch µs from `tcplab-clock` markers:
 * the latest marker at or before the given trace time, else the first marker.
 */
/** Markers within this distance of a trace time are used to map it (see toWallUs). */
export const MARKER_WINDOW_US = 30_000_000;

export class TraceClock {
  private readonly markers: TraceClockMarker[] = [];

  constructor(markers: Iterable<TraceClockMarker> = []) {
    for (const m of markers) this.add(m);
  }

  add(marker: TraceClockMarker): void {
    if (!Number.isFinite(marker.traceTimeUs) || !Number.isFinite(marker.wallTimeUs)) return;
    const entry = { traceTimeUs: marker.traceTimeUs, wallTimeUs: marker.wallTimeUs };
    let i = this.markers.length;
    while (i > 0 && (this.markers[i - 1]?.traceTimeUs ?? 0) > entry.traceTimeUs) i--;
    this.markers.splice(i, 0, entry);
  }

  get size(): number {
    return this.markers.length;
  }

  /**
   * Wall-clock epoch µs for a trace time, or null when no marker has been seen.
   *
   * A marker's wall time is read just before the write that stamps its trace time, so each
   * marker's offset (wall - trace) falls short of the true one by that gap; the largest offset
   * among the markers within MARKER_WINDOW_US of the trace time is the best estimate. The window
   * keeps clock slewing (NTP) over a long session from mattering. Without markers nearby, the
   * nearest marker is used.
   */
  toWallUs(traceTimeUs: number): number | null {
    if (this.markers.length === 0) return null;
    let best: number | undefined;
    let nearest: TraceClockMarker | undefined;
    for (const m of this.markers) {
      const distance = Math.abs(m.traceTimeUs - traceTimeUs);
      if (distance <= MARKER_WINDOW_US) {
        const offset = m.wallTimeUs - m.traceTimeUs;
        if (best === undefined || offset > best) best = offset;
      }
      if (nearest === undefined || distance < Math.abs(nearest.traceTimeUs - traceTimeUs)) nearest = m;
    }
    const offset = best ?? nearest!.wallTimeUs - nearest!.traceTimeUs; // markers is non-empty
    return traceTimeUs + offset;
  }
}
