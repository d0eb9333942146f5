/**
 * What a host's socket table and its mark on the state diagram show, from one source
 * (shared/src/reconcile.ts, currentConnections): the latest `ss` snapshot and the reported
 * transitions, merged per connection. Both components read it through here, live and at the
 * timeline's cursor (the same HostView fold), so they cannot disagree at any instant.
 */
import { currentConnections, type CurrentConnection, type ReportedState } from '../../../shared/src/reconcile';
import { connectionStates } from '../../../shared/src/state-diagram';
import { isTcpState, type TcpState } from '../../../shared/src/tcp-states';
import { isCarried, lastSeen, type HostView } from './workspace';

export { isCarried };

/** HostView objects are replaced, never changed, by the fold: one merge each. */
const cache = new WeakMap<HostView, CurrentConnection[]>();
const observedCache = new WeakMap<HostView, HostView>();

/** The host as the screens show it (workspace.ts `lastSeen`), one object per HostView. */
export function observedHost(host: HostView): HostView {
  if (!isCarried(host)) return host;
  let view = observedCache.get(host);
  if (!view) observedCache.set(host, (view = lastSeen(host)));
  return view;
}

/** Every connection the host has, as it stands now (CLOSED ones included); across a reconnect, as last seen (observedHost). */
export function shownConnections(own: HostView): CurrentConnection[] {
  const host = observedHost(own);
  let shown = cache.get(host);
  if (!shown) {
    const reported: ReportedState[] = host.transitions.flatMap((t) => (isTcpState(t.state) ? [{ local: t.local, remote: t.remote, state: t.state, hostTimeUs: t.hostTimeUs }] : []));
    const snapshot = host.snapshotUs === undefined ? undefined : { hostTimeUs: host.snapshotUs, sockets: host.sockets };
    shown = currentConnections(snapshot, reported);
    cache.set(host, shown);
  }
  return shown;
}

/** The state a connection is in now: its last state, or ss's word when ss printed no TCP state. */
export function currentState(c: CurrentConnection): string {
  return c.unknownState ?? c.states[c.states.length - 1] ?? '?';
}

/** The socket table's rows: the connections that exist now (not CLOSED), ss's order first. */
export function tableRows(host: HostView): CurrentConnection[] {
  return shownConnections(host).filter((c) => currentState(c) !== 'CLOSED');
}

const isListener = (c: CurrentConnection): boolean => c.remote.endsWith(':*');

/**
 * Which connections the diagram would rather follow: one that is still open, then one that has
 * closed (its way down to CLOSED), then a listener. An earlier connection whose TIME_WAIT ends
 * (2MSL, a minute later) is the latest change on the host, but it must not take the diagram from
 * the connection the experiment holds in FIN_WAIT1.
 */
function diagramRank(c: CurrentConnection): number {
  if (isListener(c)) return 0;
  return currentState(c) === 'CLOSED' ? 1 : 2;
}

/** The connection the diagram follows: of the best rank (diagramRank), the one that changed last. */
export function diagramConnection(host: HostView): CurrentConnection | undefined {
  let best: CurrentConnection | undefined;
  for (const c of shownConnections(host)) {
    if (c.states.length === 0 || c.unknownState !== undefined) continue;
    const rank = diagramRank(c);
    const bestRank = best ? diagramRank(best) : -1;
    if (rank > bestRank || (rank === bestRank && c.order > best!.order)) best = c;
  }
  return best;
}

/** The states the diagram draws for the host: its connection's, led in from CLOSED (connectionStates). */
export function diagramStates(host: HostView): TcpState[] {
  const c = diagramConnection(host);
  if (!c) return [];
  return connectionStates(c.states.map((state) => ({ local: c.local, remote: c.remote, state })));
}

/** Each host's states to draw on the diagram. */
export function hostPaths(hosts: Record<string, HostView>, labels: readonly string[]): Record<string, TcpState[]> {
  const paths: Record<string, TcpState[]> = {};
  for (const label of labels) {
    const host = hosts[label];
    const states = host ? diagramStates(host) : [];
    if (states.length) paths[label] = states;
  }
  return paths;
}
