/**
 * The workspace as a fold over session events (DESIGN.md, "The spine"): `reduce` is pure, so
 * the live view and a replayed log are the same code fed from different sources. Pane output is
 * not folded here (terminals are drawn by xterm, terminals/terminal-hub.ts); everything else
 * the screen shows about the hosts and the run is.
 */
import type { ConnectionStatus, HostResult, LabEvent } from '../../../shared/src/events';
import type { SsSocket } from '../../../shared/src/observations';

export interface HostView {
  label: string;
  status: ConnectionStatus | 'not connected';
  detail?: string;
  /**
   * Why the connection dropped, kept from 'disconnected' until the host is connected again: the
   * engine reports 'disconnected' and 'reconnecting' in the same tick, so a screen that showed
   * only the current status would never show the drop itself (both land in one frame).
   */
  lost?: string;
  /** The reconnect attempt under way, while `lost` is set. */
  attempt?: number;
  /**
   * The latest `ss` snapshot of the experiment port, when it arrived (controller ms) and when ss
   * started on the host (µs). Screens show it through shown.ts, merged with `transitions`.
   */
  sockets: SsSocket[];
  snapshotT?: number;
  snapshotUs?: number;
  /** How states are observed on this host (the tracepoint, or polling only). */
  capability?: { ok: boolean; detail: string };
  /** Firewall rules this session added and has not removed yet (their commands). */
  rules: string[];
  /** The reconciled state history per connection, `local -> remote`, as the engine reported it. */
  transitions: HostTransition[];
  /**
   * What the previous session last observed of the host, kept until this session's first `ss`
   * snapshot of it: a run ends and the workspace reconnects (seconds: a login shell, sudo, clock
   * probes), and meanwhile the host still holds the run's FIN_WAIT1 or TIME_WAIT. The screens show
   * it marked as last seen (`lastSeen`, `isCarried`) rather than "not observed yet". Only from a
   * session that ended moments before, on the same host and port (CARRY_WITHIN_MS), and only
   * while this session lasts.
   */
  carried?: CarriedObservation;
  /** The address the current session reaches the host at; undefined for a host it does not name. */
  address?: string;
  /**
   * The latest note about this host outside a run, from this session: what the engine did or
   * could not do on its own (leftovers cleaned up at connect, observers that could not restart
   * after a reconnect). A run's notes go to its log instead.
   */
  note?: { t: number; text: string };
}

export type HostTransition = { local: string; remote: string; state: string; seen: string; hostTimeUs: number };

/** A host's observation as one session left it. */
export type CarriedObservation = Pick<HostView, 'sockets' | 'snapshotT' | 'snapshotUs' | 'transitions'>;

/**
 * How soon after a session ends the next one may carry its observations over: a run's end and
 * the workspace's reconnect (retries included) take seconds, and a TIME_WAIT lasts 60 s. A
 * connection made later (the user disconnected, came back after the break) starts afresh.
 */
export const CARRY_WITHIN_MS = 60_000;

/** 'ready': a step-by-step run shows this step's explanation and waits for the user. */
export type StepPhase = 'pending' | 'ready' | 'running' | 'done' | 'failed';

export interface RunView {
  session: string;
  experiment: string;
  steps: Record<number, { phase: StepPhase; summary: string; explain?: string; detail?: string }>;
  currentStep?: number;
  /** What the engine did that a lab assistant should see: firewall changes, cleanup, notes. */
  log: Array<{ t: number; host?: string; text: string; kind: 'firewall' | 'note' | 'step' }>;
  result?: { passed: boolean; hosts: Record<string, HostResult> };
  ended?: string;
}

export interface WorkspaceState {
  session?: string;
  port?: number;
  /** When the current session ended (controller ms), once it has: how recent its observations are for the next one. */
  endedT?: number;
  hosts: Record<string, HostView>;
  /** The running experiment, or the last one (kept for its result after the workspace reconnects). */
  run?: RunView;
}

export function emptyHost(label: string): HostView {
  return { label, status: 'not connected', sockets: [], rules: [], transitions: [] };
}

export function initialWorkspace(labels: readonly string[] = ['H1', 'H2']): WorkspaceState {
  return { hosts: Object.fromEntries(labels.map((l) => [l, emptyHost(l)])) };
}

function updateHost(state: WorkspaceState, label: string, change: (host: HostView) => HostView): WorkspaceState {
  const host = state.hosts[label] ?? emptyHost(label);
  return { ...state, hosts: { ...state.hosts, [label]: change(host) } };
}

function updateRun(state: WorkspaceState, session: string, change: (run: RunView) => RunView): WorkspaceState {
  if (!state.run || state.run.session !== session) return state;
  return { ...state, run: change(state.run) };
}

/** A host's transitions kept for the table and diagram (the timeline keeps every one). */
export const TRANSITIONS_KEPT = 100;
const RUN_LOG_KEPT = 200;

/** One event of session `session` applied to the workspace. Returns `state` itself when nothing shown changes. */
export function reduce(state: WorkspaceState, session: string, event: LabEvent): WorkspaceState {
  switch (event.type) {
    case 'session-start': {
      const { endedT, ...before } = state;
      const recent = endedT !== undefined && event.t - endedT <= CARRY_WITHIN_MS && event.port === state.port;
      const hosts: Record<string, HostView> = Object.fromEntries(Object.entries(state.hosts).map(([l, h]) => [l, { ...emptyHost(l), status: h.status }]));
      for (const { label, address } of event.hosts) {
        const previous = state.hosts[label];
        const carried = recent && previous?.address === address ? observationOf(lastSeen(previous)) : undefined;
        hosts[label] = { ...(hosts[label] ?? emptyHost(label)), address, ...(carried ? { carried } : {}) };
      }
      const next: WorkspaceState = { ...before, session, hosts, ...(event.port !== undefined ? { port: event.port } : {}) };
      if (event.experiment) next.run = { session, experiment: event.experiment, steps: {}, log: [] };
      return next;
    }
    case 'session-end': {
      const ended = updateRun(state, session, (run) => ({ ...run, ended: event.reason }));
      if (ended.session !== session) return ended;
      // What was carried bridged a reconnect; a session that ended without looking bridges nothing.
      const hosts = Object.fromEntries(Object.entries(ended.hosts).map(([l, { carried: _bridgeOver, ...h }]) => [l, { ...h, rules: [] }]));
      return { ...ended, hosts, endedT: event.t };
    }
    case 'connection':
      if (state.session !== session) return state;
      return updateHost(state, event.host, (h) => {
        const next: HostView = { ...h, status: event.status };
        if (event.detail) next.detail = event.detail;
        else delete next.detail;
        if (event.status === 'disconnected') next.lost = event.detail ?? 'the connection dropped';
        if (event.status === 'connected' || event.status === 'closed') {
          delete next.lost;
          delete next.attempt;
        } else if (event.attempt !== undefined) next.attempt = event.attempt;
        return next;
      });
    case 'capability':
      if (event.name !== 'tracepoint') return state;
      return updateHost(state, event.host, (h) => ({ ...h, capability: { ok: event.ok, detail: event.detail } }));
    case 'snapshot':
      if (state.session !== session) return state;
      return updateHost(state, event.host, ({ carried: _lastSeen, ...h }) => ({ ...h, sockets: event.sockets, snapshotT: event.t, snapshotUs: event.hostTimeUs }));
    case 'transition':
      return updateHost(state, event.host, (h) => ({ ...h, transitions: [...h.transitions, { local: event.local, remote: event.remote, state: event.state, seen: event.seen, hostTimeUs: event.hostTimeUs }].slice(-TRANSITIONS_KEPT) }));
    case 'firewall': {
      const withRules = updateHost(state, event.host, (h) => ({
        ...h,
        rules: event.action === 'add' ? [...h.rules, event.command] : withoutOne(h.rules, event.command),
      }));
      const text = `${event.action === 'add' ? 'added' : 'removed'} firewall rule: ${event.command}`;
      return updateRun(withRules, session, (run) => ({ ...run, log: [...run.log, { t: event.t, host: event.host, text, kind: 'firewall' as const }].slice(-RUN_LOG_KEPT) }));
    }
    case 'step':
      return updateRun(state, session, (run) => {
        const phase: StepPhase = event.phase === 'ready' ? 'ready' : event.phase === 'start' ? 'running' : event.phase === 'end' ? 'done' : 'failed';
        // 'end' and 'failed' repeat only the summary: keep what 'start' said.
        const step = { ...run.steps[event.index], phase, summary: event.summary, ...(event.explain ? { explain: event.explain } : {}), ...(event.detail ? { detail: event.detail } : {}) };
        return { ...run, steps: { ...run.steps, [event.index]: step }, currentStep: event.index };
      });
    case 'note': {
      const note = { t: event.t, ...(event.host ? { host: event.host } : {}), text: event.text };
      if (state.run?.session === session && !state.run.ended) {
        return updateRun(state, session, (run) => ({ ...run, log: [...run.log, { ...note, kind: 'note' as const }].slice(-RUN_LOG_KEPT) }));
      }
      // Outside a run, the notes that name no host repeat what the screen already says where it
      // happened (a failed connect's error), so only a host's own are shown, in its column. One
      // repeated as it was (a poller's complaint at every poll) stays the note it was: closed, it
      // stays closed.
      if (state.session !== session || event.host === undefined || state.hosts[event.host]?.note?.text === event.text) return state;
      return updateHost(state, event.host, (h) => ({ ...h, note: { t: event.t, text: event.text } }));
    }
    case 'result':
      return updateRun(state, session, (run) => ({ ...run, result: { passed: event.passed, hosts: event.hosts } }));
    default:
      // Pane traffic is drawn by the terminals; clock and trace details are for the timeline.
      return state;
  }
}

/** Whether the host is shown as the previous session last saw it (HostView.carried). */
export function isCarried(host: HostView): boolean {
  return host.carried !== undefined && host.snapshotT === undefined;
}

/**
 * The host as the screens show it: itself once this session has an `ss` snapshot of it; before
 * that, what the previous session last saw with this session's transitions after it.
 */
export function lastSeen(host: HostView): HostView {
  if (!isCarried(host)) return host;
  const { carried, ...own } = host;
  return { ...own, ...carried!, transitions: [...carried!.transitions, ...own.transitions].slice(-TRANSITIONS_KEPT) };
}

/** A host's observation, undefined when there is none to pass on. */
function observationOf(host: HostView): CarriedObservation | undefined {
  const { sockets, snapshotT, snapshotUs, transitions } = host;
  if (snapshotT === undefined && transitions.length === 0) return undefined;
  return { sockets, transitions, ...(snapshotT !== undefined ? { snapshotT } : {}), ...(snapshotUs !== undefined ? { snapshotUs } : {}) };
}

/**
 * The removal is spelled as `iptables -S` prints the rule (`-m tcp` added...), not as it was
 * added, so rules are matched by their ledger comment (`tcplab:<session>`): one out per removal.
 */
function withoutOne(rules: string[], removed: string): string[] {
  const comment = /tcplab:[0-9a-f]+/.exec(removed)?.[0];
  const index = rules.findIndex((r) => (comment ? r.includes(comment) : r === removed));
  return index < 0 ? rules : rules.filter((_, i) => i !== index);
}

/** Seconds left on a socket's timer at `nowT` (controller ms), counting down from its snapshot. */
export function timerLeftMs(socket: SsSocket, snapshotT: number | undefined, nowT: number): number | undefined {
  if (!socket.timer || snapshotT === undefined) return undefined;
  return Math.max(0, socket.timer.expiresMs - Math.max(0, nowT - snapshotT));
}
