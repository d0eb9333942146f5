/**
 * reconcileHost as written before its snapshot indexes (commit 7957862): every tuple's history
 * walked every snapshot of the session, and every snapshot was parsed at every call, so a call
 * grew with the square of the session's length. shared/src/reconcile.ts must give exactly what
 * this gives (test/unit/reconcile.test.ts compares them on random observations and on recorded
 * sessions fed one observation at a time), and `npm run bench:reconcile` times both in the same run.
 * The parts that did not change are imported.
 */
import type { Endpoint, SsSocket } from '../../shared/src/observations';
import { formatEndpoint } from '../../shared/src/observations';
import {
  CLOSES_INTO_TIMEWAIT,
  followTimewait,
  HistoryBuilder,
  endpointKey,
  isEndpoint,
  normalizeRemote,
  TIMEWAIT_SUBSTATES,
  touchesPort,
  tupleKey,
  type ConnectionHistory,
  type ReconcileInput,
  type Snap,
  type Tr,
} from '../../shared/src/reconcile';
import { canonicalAddress, isUnspecifiedAddress } from '../../shared/src/ss-parser';
import { isTcpState } from '../../shared/src/tcp-states';

export function reconcileHostReference(input: ReconcileInput): ConnectionHistory[] {
  const port = input.port;
  const own = new Set((Array.isArray(input.ownAddresses) ? input.ownAddresses : []).map((a) => canonicalAddress(String(a))));

  // Snapshots, in time order, keyed by tuple; only sockets of the experiment port.
  const listenPorts = new Set<number>();
  const snaps: Snap[] = [];
  const ssEndpoints = new Map<string, { local: Endpoint; remote: Endpoint }>();
  for (const snapshot of Array.isArray(input.snapshots) ? input.snapshots : []) {
    if (!snapshot || !Number.isFinite(snapshot.hostTimeUs) || !Array.isArray(snapshot.sockets)) continue;
    const byKey = new Map<string, SsSocket>();
    for (const socket of snapshot.sockets) {
      if (!socket || !isEndpoint(socket.local) || !isEndpoint(socket.peer)) continue;
      if (socket.state === 'LISTEN' && socket.local.port !== null) listenPorts.add(socket.local.port);
      if (!touchesPort(socket.local, socket.peer, port)) continue;
      const key = tupleKey(socket.local, socket.peer);
      if (!byKey.has(key)) byKey.set(key, socket);
      if (!ssEndpoints.has(key)) ssEndpoints.set(key, { local: socket.local, remote: socket.peer });
    }
    const readUs = typeof snapshot.readUs === 'number' && Number.isFinite(snapshot.readUs) && snapshot.readUs >= snapshot.hostTimeUs ? snapshot.readUs : snapshot.hostTimeUs;
    snaps.push({ t: snapshot.hostTimeUs, seenUs: readUs, byKey });
  }
  snaps.sort((a, b) => a.t - b.t);

  // Transitions of this host and port, in time order (stable: ties keep trace order).
  const trs: Tr[] = [];
  if (input.traceAvailable && Array.isArray(input.transitions)) {
    for (const raw of input.transitions) {
      if (!raw || !Number.isFinite(raw.hostTimeUs)) continue;
      if (!isTcpState(String(raw.from)) || !isTcpState(String(raw.to)) || raw.from === raw.to) continue;
      if (!isEndpoint(raw.local) || !isEndpoint(raw.remote)) continue;
      const local: Endpoint = { address: raw.local.address, port: raw.local.port };
      const remote = normalizeRemote(raw.remote);
      if (!touchesPort(local, remote, port)) continue;
      if (isUnspecifiedAddress(local.address)) {
        const listening = snaps.length === 0 || (local.port !== null && listenPorts.has(local.port));
        if (!listening) continue;
      } else if (!own.has(canonicalAddress(local.address))) {
        continue;
      }
      trs.push({ t: raw.hostTimeUs, from: raw.from, to: raw.to, local, remote });
    }
  }
  trs.sort((a, b) => a.t - b.t);
  attachUnassignedPorts(trs, snaps);

  // Group by tuple, in order of first appearance.
  const traceByKey = new Map<string, Tr[]>();
  const traceEndpoints = new Map<string, { local: Endpoint; remote: Endpoint }>();
  for (const tr of trs) {
    const key = tupleKey(tr.local, tr.remote);
    let list = traceByKey.get(key);
    if (!list) {
      list = [];
      traceByKey.set(key, list);
      traceEndpoints.set(key, { local: tr.local, remote: tr.remote });
    }
    list.push(tr);
  }
  const keys = new Set<string>([...traceByKey.keys(), ...ssEndpoints.keys()]);

  const out: ConnectionHistory[] = [];
  for (const key of keys) {
    const builder = new HistoryBuilder();
    const events = traceByKey.get(key) ?? [];
    if (events.length === 0) {
      pollRange(builder, snaps, key, 0, snaps.length);
    } else {
      buildFromTrace(builder, events, snaps, key);
    }
    const ends = ssEndpoints.get(key) ?? traceEndpoints.get(key);
    if (!ends) continue;
    const local = formatEndpoint(ends.local);
    const remote = formatEndpoint(ends.remote);
    for (const states of builder.histories) {
      if (states.length > 0) out.push({ local, remote, states });
    }
  }
  return out
    .map((h, i) => ({ h, i }))
    .sort((a, b) => (a.h.states[0]?.hostTimeUs ?? 0) - (b.h.states[0]?.hostTimeUs ?? 0) || a.i - b.i)
    .map(({ h }) => h);
}

function attachUnassignedPorts(trs: Tr[], snaps: Snap[]): void {
  const claimed = new Set<number>();
  for (let i = 0; i < trs.length; i++) {
    const e = trs[i];
    if (!e || e.to !== 'SYN_SENT' || e.from !== 'CLOSED' || (e.local.port !== 0 && e.local.port !== null)) continue;
    const localAddr = canonicalAddress(e.local.address);
    const remoteKey = endpointKey(e.remote);
    let port: number | null = null;
    for (let j = i + 1; j < trs.length; j++) {
      const c = trs[j];
      if (!c || claimed.has(j) || c.from !== 'SYN_SENT') continue;
      if (c.local.port === 0 || c.local.port === null) continue;
      if (canonicalAddress(c.local.address) !== localAddr || endpointKey(c.remote) !== remoteKey) continue;
      claimed.add(j);
      port = c.local.port;
      break;
    }
    if (port === null) {
      for (const snap of snaps) {
        if (snap.t < e.t) continue;
        for (const s of snap.byKey.values()) {
          if (s.local.port === null || s.local.port === 0) continue;
          // Only a socket still in SYN_SENT can be this one: an older connection to the same
          // peer (say in TIME_WAIT from an earlier run) must not lend it its port.
          if (s.state !== 'SYN_SENT') continue;
          if (canonicalAddress(s.local.address) === localAddr && endpointKey(s.peer) === remoteKey) {
            port = s.local.port;
            break;
          }
        }
        if (port !== null) break;
      }
    }
    if (port !== null) e.local = { ...e.local, port };
  }
}

/** Polled history of a tuple over snapshots [from, to). */
function pollRange(builder: HistoryBuilder, snaps: Snap[], key: string, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const snap = snaps[i];
    if (!snap) continue;
    const socket = snap.byKey.get(key);
    if (socket === undefined) builder.vanish(snap.seenUs);
    else if (socket.state !== null) builder.poll(socket.state, snap.seenUs);
  }
}

function buildFromTrace(builder: HistoryBuilder, events: Tr[], snaps: Snap[], key: string): void {
  const first = events[0];
  if (!first) return;
  // The tuple existed before its first event: tracing began mid-connection, or (first event
  // LISTEN -> SYN_RECV) a half-open request socket, which the tracepoint does not report, sat in
  // SYN-RECV until the handshake completed. What ss showed before the first event comes first,
  // cut back to the state that event leaves from (a snapshot can look later than it was).
  if (first.from !== 'CLOSED') {
    let end = 0;
    while (end < snaps.length && (snaps[end]?.t ?? Infinity) < first.t) end++;
    pollRange(builder, snaps, key, 0, end);
    builder.trimOpenTo(first.from === 'LISTEN' ? first.to : first.from);
  }
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (!e) continue;
    const nextT = events[i + 1]?.t ?? Infinity;
    const fresh = e.from === 'CLOSED' || (e.from === 'LISTEN' && e.to !== 'CLOSED');
    if (fresh && i > 0) builder.startNew();

    if (e.to === 'CLOSED' && CLOSES_INTO_TIMEWAIT.has(e.from)) {
      // Does ss still list the tuple (a timewait socket: FIN-WAIT-2 or TIME-WAIT) after this?
      let start = -1;
      let end = snaps.length;
      for (let j = 0; j < snaps.length; j++) {
        const snap = snaps[j];
        if (!snap || snap.t < e.t) continue;
        if (snap.t >= nextT) {
          end = j;
          break;
        }
        const socket = snap.byKey.get(key);
        if (start === -1 && socket?.state != null && TIMEWAIT_SUBSTATES.has(socket.state)) start = j;
      }
      if (start !== -1) {
        followTimewait(builder, snaps, key, start, end);
        continue;
      }
      if (e.from === 'CLOSING') {
        // CLOSING -> CLOSE always means TIME_WAIT on Linux; nothing saw it end.
        if (builder.last() !== 'TIME_WAIT') builder.push('TIME_WAIT', e.t, 'inferred');
        continue;
      }
    }
    if (i === 0 && builder.isOpen() && builder.last() === e.to) continue; // seen by ss already
    builder.push(e.to, e.t, 'trace');
  }
}
