/**
 * Parser for `ss -tanoH` (iproute2) output, tolerant of the header line of `ss -tano`, the Process
 * column of `ss -p`, a leading Netid column, old unbracketed IPv6 endpoints, and the missing State
 * column of a filter that selects exactly one state (`ss -tanoH state time-wait`: the caller says
 * which state with `filterState`). Bad lines never throw: they are skipped and reported.
 *
 * Also the address helpers the reconciler uses to compare endpoints from `ss` and tracefs.
 */
import type { Endpoint, SsSocket, SsTimer, SsTimerName } from './observations';
import { tcpStateFromSs } from './tcp-states';

export interface SsParseOptions {
  /**
   * The state a one-state filter selected (`time-wait`, `established`, `listening`, `TIME-WAIT`,
   * `TIME_WAIT` all work). Used for rows that have no State column; rows that do keep their own.
   */
  filterState?: string;
}

export interface SsParseResult {
  sockets: SsSocket[];
  /** Lines that were neither blank, a header, nor a socket row (as given, untrimmed). */
  skipped: string[];
}

export function parseSs(output: string, options?: SsParseOptions): SsSocket[] {
  return parseSsDetailed(output, options).sockets;
}

export function parseSsDetailed(output: string, options?: SsParseOptions): SsParseResult {
  const sockets: SsSocket[] = [];
  const skipped: string[] = [];
  if (typeof output !== 'string') return { sockets, skipped };
  const filterState = normalizeSsStateName(options?.filterState);
  for (const line of output.split(/\r?\n/)) {
    const result = parseSsRow(line, filterState);
    if (result === 'ignore') continue;
    if (result === null) skipped.push(line);
    else sockets.push(result);
  }
  return { sockets, skipped };
}

/** One row of ss output; null when it is not a socket row (blank and header lines too). */
export function parseSsLine(line: string, options?: SsParseOptions): SsSocket | null {
  const result = parseSsRow(line, normalizeSsStateName(options?.filterState));
  return result === 'ignore' ? null : result;
}

/** State words as `ss` prints them, and the names `ss state <name>` filters accept, to ss words. */
const STATE_ALIASES: Readonly<Record<string, string>> = {
  ESTABLISHED: 'ESTAB',
  LISTENING: 'LISTEN',
  CLOSED: 'UNCONN',
  'SYN-RECEIVED': 'SYN-RECV',
  'FIN-WAIT1': 'FIN-WAIT-1',
  'FIN-WAIT2': 'FIN-WAIT-2',
  'NEW-SYN-RECV': 'SYN-RECV',
};

/**
 * `time-wait`, `TIME_WAIT`, `TIME-WAIT`, `established`, `listening`, `FIN_WAIT1`... to the word ss
 * prints in its State column (`TIME-WAIT`, `ESTAB`, `LISTEN`, `FIN-WAIT-1`). undefined for nothing.
 */
export function normalizeSsStateName(name: string | undefined): string | undefined {
  if (typeof name !== 'string') return undefined;
  let word = name.trim().toUpperCase().replace(/_/g, '-');
  if (word.startsWith('TCP-')) word = word.slice(4);
  if (word === '') return undefined;
  return STATE_ALIASES[word] ?? word;
}

const STATE_WORD = /^[A-Z][A-Z0-9_-]*$/;
const NUMBER = /^\d{1,12}$/;
const NETIDS = new Set(['tcp', 'tcp6', 'mptcp']);

interface Token {
  text: string;
  end: number;
}

function tokens(line: string, max: number): Token[] {
  const out: Token[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while (out.length < max && (m = re.exec(line)) !== null) {
    out.push({ text: m[0], end: m.index + m[0].length });
  }
  return out;
}

function isHeader(first: string, second: string | undefined): boolean {
  return (
    first === 'State' ||
    first === 'Netid' ||
    (first === 'Recv-Q' && (second === undefined || second === 'Send-Q'))
  );
}

function parseSsRow(line: string, filterState: string | undefined): SsSocket | null | 'ignore' {
  if (typeof line !== 'string') return null;
  if (line.length > 100_000) return null;
  const toks = tokens(line, 7);
  const first = toks[0];
  if (first === undefined) return 'ignore';
  if (isHeader(first.text, toks[1]?.text)) return 'ignore';

  let i = 0;
  if (NETIDS.has(first.text)) i++;
  let ssState: string;
  let stateWord: string;
  const maybeState = toks[i];
  if (maybeState === undefined) return null;
  if (NUMBER.test(maybeState.text)) {
    if (filterState === undefined) return null;
    ssState = filterState;
    stateWord = filterState;
  } else {
    if (!STATE_WORD.test(maybeState.text)) return null;
    ssState = maybeState.text;
    stateWord = normalizeSsStateName(maybeState.text) ?? maybeState.text;
    i++;
  }
  const recvQ = toks[i];
  const sendQ = toks[i + 1];
  const localTok = toks[i + 2];
  const peerTok = toks[i + 3];
  if (!recvQ || !sendQ || !localTok || !peerTok) return null;
  if (!NUMBER.test(recvQ.text) || !NUMBER.test(sendQ.text)) return null;
  const local = parseSsEndpoint(localTok.text);
  const peer = parseSsEndpoint(peerTok.text);
  if (!local || !peer) return null;

  const socket: SsSocket = {
    state: tcpStateFromSs(stateWord) ?? null,
    ssState,
    recvQ: Number(recvQ.text),
    sendQ: Number(sendQ.text),
    local,
    peer,
  };
  const timer = findTimer(line.slice(peerTok.end));
  if (timer) socket.timer = timer;
  return socket;
}

function findTimer(rest: string): SsTimer | undefined {
  const m = /(?:^|\s)timer:\(([^()]*)\)/.exec(rest);
  if (!m || m[1] === undefined) return undefined;
  return parseSsTimer(m[1]) ?? undefined;
}

const TIMER_NAMES: ReadonlySet<string> = new Set<SsTimerName>([
  'on',
  'keepalive',
  'timewait',
  'persist',
  'delack',
  'unknown',
]);

/** The inside of `timer:(…)`, e.g. `timewait,59sec,0` (the `timer:(` and `)` may be included). */
export function parseSsTimer(text: string): SsTimer | null {
  if (typeof text !== 'string') return null;
  let inner = text.trim();
  const wrapped = /^timer:\((.*)\)$/.exec(inner);
  if (wrapped && wrapped[1] !== undefined) inner = wrapped[1];
  const parts = inner.split(',');
  if (parts.length < 2 || parts.length > 3) return null;
  const rawName = (parts[0] ?? '').trim().toLowerCase();
  if (!/^[a-z_-]+$/.test(rawName)) return null;
  const name: SsTimerName = TIMER_NAMES.has(rawName) ? (rawName as SsTimerName) : 'unknown';
  const expiresMs = parseSsDuration(parts[1] ?? '');
  if (expiresMs === null) return null;
  const retransText = (parts[2] ?? '0').trim();
  const retransmits = retransText === '' ? 0 : /^\d{1,9}$/.test(retransText) ? Number(retransText) : null;
  if (retransmits === null) return null;
  return { name, expiresMs, retransmits };
}

const UNIT_MS: Readonly<Record<string, number>> = {
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  min: 60_000,
  m: 60_000,
  sec: 1000,
  s: 1000,
  ms: 1,
  msec: 1,
  us: 0.001,
  usec: 0.001,
};

/**
 * An ss timer expiry in milliseconds: `59sec`, `1min`, `1min2sec`, `200ms`, `050ms`, `1.5sec`,
 * `8.990sec`, and ss's own `1.500ms` (its printer writes seconds, a dot, then the milliseconds:
 * 1500 ms). An empty expiry (ss prints nothing for 0) is 0; a leading `-` (expired) is 0.
 * null when the text is not a duration.
 */
export function parseSsDuration(text: string): number | null {
  if (typeof text !== 'string') return null;
  let s = text.trim().toLowerCase();
  if (s === '' || s === '-') return 0;
  if (s.startsWith('-')) {
    const magnitude = parseSsDuration(s.slice(1));
    return magnitude === null ? null : 0;
  }
  if (s.length > 64) return null;
  // ss's own `<secs>.<msecs, 3 digits>ms`, possibly after a `<n>min`.
  const ssStyle = /^(?:(\d+)min)?(\d+)\.(\d{3})ms$/.exec(s);
  if (ssStyle) {
    return Number(ssStyle[1] ?? 0) * 60_000 + Number(ssStyle[2]) * 1000 + Number(ssStyle[3]);
  }
  if (/^\d+(\.\d+)?$/.test(s)) s += 'ms';
  const part = /(\d+(?:\.\d+)?)([a-z]+)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m || m[1] === undefined || m[2] === undefined) return null;
    const unit = UNIT_MS[m[2]];
    if (unit === undefined) return null;
    total += Number(m[1]) * unit;
    pos = part.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

/**
 * `198.18.77.1:7777`, `*:*`, `0.0.0.0:*`, `[::1]:22`, `[::ffff:1.2.3.4]:80`, `[fe80::1]%eth0:22`,
 * `127.0.0.53%lo:53`, and old ss's unbracketed `:::22` or `::1:22`. null when malformed.
 */
export function parseSsEndpoint(text: string): Endpoint | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 200) return null;
  let host: string;
  let zone: string | undefined;
  let portText: string;
  const bracketed = /^\[([^\]]*)\](?:%([^\s:[\]%]+))?:([^:]*)$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? '';
    zone = bracketed[2];
    portText = bracketed[3] ?? '';
    const inner = /^([^%]*)%([^\s:[\]%]+)$/.exec(host);
    if (inner && zone === undefined) {
      host = inner[1] ?? '';
      zone = inner[2];
    }
  } else {
    const cut = text.lastIndexOf(':');
    if (cut <= 0) return null;
    host = text.slice(0, cut);
    portText = text.slice(cut + 1);
    const pct = host.indexOf('%');
    if (pct >= 0) {
      zone = host.slice(pct + 1);
      host = host.slice(0, pct);
      if (!/^[^\s:[\]%]+$/.test(zone)) return null;
    }
  }
  let port: number | null;
  if (portText === '*') port = null;
  else if (/^\d{1,5}$/.test(portText) && Number(portText) <= 65535) port = Number(portText);
  else return null;
  if (host !== '*' && parseIpv4(host) === null && parseIpv6Groups(host) === null) return null;
  const endpoint: Endpoint = { address: host, port };
  if (zone !== undefined) endpoint.zone = zone;
  return endpoint;
}

function parseIpv4(text: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const bytes = [m[1], m[2], m[3], m[4]].map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/** The eight 16-bit groups of an IPv6 address (embedded IPv4 tail allowed), or null. */
function parseIpv6Groups(text: string): number[] | null {
  if (text.length === 0 || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) {
    return null;
  }
  let body = text;
  const v4Tail: number[] = [];
  if (body.includes('.')) {
    const cut = body.lastIndexOf(':');
    const v4 = parseIpv4(body.slice(cut + 1));
    if (!v4) return null;
    v4Tail.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    body = body.slice(0, cut + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const side = (s: string): number[] | null => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = side(halves[0] ?? '');
  const tail = halves.length === 2 ? side(halves[1] ?? '') : [];
  if (!head || !tail) return null;
  const given = head.length + tail.length + v4Tail.length;
  if (halves.length === 2) {
    if (given > 7) return null;
    return [...head, ...new Array<number>(8 - given).fill(0), ...tail, ...v4Tail];
  }
  return given === 8 ? [...head, ...v4Tail] : null;
}

/**
 * Answers already worked out: reconciling asks for the same handful of addresses for every socket
 * of every snapshot and every trace event of a session. Bounded, in case a host has many.
 */
const canonicalAddresses = new Map<string, string>();
const CANONICAL_ADDRESSES_KEPT = 4096;

/**
 * A comparison key for an address as ss or tracefs prints it: brackets and zone dropped,
 * lower case, IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as plain IPv4, IPv6 fully expanded, and ss's
 * wildcard `*` (a dual-stack IPv6 socket bound to any address) as `::`.
 */
export function canonicalAddress(address: string): string {
  if (typeof address !== 'string') return canonicalize(address);
  const known = canonicalAddresses.get(address);
  if (known !== undefined) return known;
  const canonical = canonicalize(address);
  if (canonicalAddresses.size >= CANONICAL_ADDRESSES_KEPT) canonicalAddresses.clear();
  canonicalAddresses.set(address, canonical);
  return canonical;
}

function canonicalize(address: string): string {
  let a = String(address).trim().toLowerCase();
  const bracketed = /^\[(.*)\]$/.exec(a);
  if (bracketed) a = bracketed[1] ?? '';
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  if (a === '*') return '::';
  const v4 = parseIpv4(a);
  if (v4) return v4.join('.');
  const g = parseIpv6Groups(a);
  if (!g) return a;
  if (g.every((x) => x === 0)) return '::';
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const hi = g[6] ?? 0;
    const lo = g[7] ?? 0;
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  }
  return g.map((x) => x.toString(16)).join(':');
}

/** 0.0.0.0, ::, ::ffff:0.0.0.0 or ss's `*`. */
export function isUnspecifiedAddress(address: string): boolean {
  const c = canonicalAddress(address);
  return c === '::' || c === '0.0.0.0';
}
