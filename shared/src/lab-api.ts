/**
 * LabApi: the one contract between the renderer and the engine (DESIGN.md, Layers), whatever
 * carries it (the browser-mode WebSocket today, Electron IPC through the preload later).
 *
 * Three kinds of traffic:
 * - requests from the renderer, each with an id, answered by exactly one reply with that id;
 * - notifications from the renderer (keystrokes, acknowledgements, resizes): frequent, unanswered;
 * - messages from the engine: the hello, state changes, and the stream of session events, which
 *   is the session log itself (shared/src/events.ts): the renderer folds over it, live or replayed.
 *
 * Every message is parsed with the zod schemas below on the side that receives it. A message
 * that does not match is rejected with an error that says why and is never acted on.
 *
 * Back-pressure: every `pane-output` event reaches the renderer inside an `event` message naming
 * its session; the renderer acknowledges `{ session, host, pane, seq }` once it has taken it (or
 * xterm has drawn it, when its queue is long), and the engine's relay for that pane sends more
 * (electron/web/pane-output-relay.ts). The relay passes over the lines of a flood the pane could
 * never show and, when it holds too much, pauses the SSH channel instead of filling memory.
 */
import { z } from 'zod';
import { RunPace, RunReplyResults, RunRequests } from './run-api';
import type { LabEvent } from './events';
import { FirewallRule } from './experiment-schema';
import { TCP_STATES } from './tcp-states';
import { HostsReplyResults, HostsRequests } from './hosts-api';
import { ReportReplyResults, ReportRequests } from './report-api';

export const LAB_API_VERSION = 1;

/** The two hosts the workspace has; events may name others (a log is open-ended), requests may not. */
export const ApiHostLabel = z.enum(['H1', 'H2']);
export type ApiHostLabel = z.infer<typeof ApiHostLabel>;
export const ApiPaneName = z.enum(['upper', 'lower']);
export const TcpStateSchema = z.enum(TCP_STATES);

/** `SHA256:` and 43 base64 characters without padding, as OpenSSH prints host-key fingerprints. */
export const Fingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be a SHA256 fingerprint as ssh-keygen -l prints it (SHA256:...)');

/** A pasted block in a terminal is sent whole; larger than this is not typing. */
export const MAX_PANE_INPUT = 64 * 1024;
/** The largest message either side accepts, in bytes (a pane-output event is at most a channel chunk). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * An `events` message carries at most this many events (and its sender keeps it under
 * EVENTS_BATCH_BYTES of JSON): a replay of 100,000 events is a hundred messages, not 100,000
 * tasks in the page, and no one message is large enough to stall the page or pass MAX_MESSAGE_BYTES.
 */
export const MAX_EVENTS_PER_MESSAGE = 2000;
/** What a sender aims to keep an `events` message under, in characters of JSON (roughly). */
export const EVENTS_BATCH_BYTES = 1024 * 1024;

const RequestId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/** A LabSession id (electron/lab/lab-session.ts: 8 hex digits). */
const SessionId = z.string().regex(/^[0-9a-f]{8}$/, 'must be a session id (8 hex digits)');
const ExperimentId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be an experiment id such as lost-fin');

// ---------------------------------------------------------------------------------------------
// Renderer -> engine

export const LabRequest = z.discriminatedUnion('method', [
  /** Opens the idle workspace: both hosts connected, four panes, sockets observed. */
  z.strictObject({ method: z.literal('connect'), acceptFingerprints: z.array(Fingerprint).max(8).default([]) }),
  z.strictObject({ method: z.literal('disconnect') }),
  /** Runs a built-in experiment (the workspace gives way to the run's own session). */
  z.strictObject({ method: z.literal('run'), experiment: ExperimentId, pace: RunPace.default('all'), swapRoles: z.boolean().default(false) }),
  /** Stops the running experiment at its next step; its cleanup runs as usual. */
  z.strictObject({ method: z.literal('abort'), reason: z.string().min(1).max(200).default('stopped from the app') }),
  /** The Hosts view: hosts-get, hosts-save, hosts-import-ssh-config, hosts-use-local-lab, hosts-remove-key (shared/src/hosts-api.ts). */
  ...HostsRequests,
  /** run-file, proceed, check (shared/src/run-api.ts). */
  ...RunRequests,
  /** report: a run's self-contained HTML report (shared/src/report-api.ts). */
  ...ReportRequests,
]);
export type LabRequest = z.infer<typeof LabRequest>;
export type LabRequestInput = z.input<typeof LabRequest>;
export type LabMethod = LabRequest['method'];

/** Terminal sizes a pane's PTY accepts; a renderer keeps its terminals inside them. */
export const PANE_SIZE_LIMITS = { minCols: 10, maxCols: 500, minRows: 3, maxRows: 200 } as const;

export const ClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('request'), id: RequestId, request: LabRequest }),
  /** Keystrokes (or a paste) for a pane of the active session. */
  z.strictObject({ type: z.literal('pane-input'), host: ApiHostLabel, pane: ApiPaneName, data: z.string().min(1).max(MAX_PANE_INPUT) }),
  /** "Drawn up to and including event `seq` of `session`" for one pane. */
  z.strictObject({ type: z.literal('pane-ack'), session: SessionId, host: ApiHostLabel, pane: ApiPaneName, seq: z.number().int().min(0) }),
  z.strictObject({
    type: z.literal('pane-resize'),
    host: ApiHostLabel,
    pane: ApiPaneName,
    cols: z.number().int().min(PANE_SIZE_LIMITS.minCols).max(PANE_SIZE_LIMITS.maxCols),
    rows: z.number().int().min(PANE_SIZE_LIMITS.minRows).max(PANE_SIZE_LIMITS.maxRows),
  }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ClientMessageInput = z.input<typeof ClientMessage>;

// ---------------------------------------------------------------------------------------------
// Engine -> renderer

const Endpoint = z.object({ address: z.string(), port: z.number().int().nullable(), zone: z.string().optional() });
const SsSocketSchema = z.object({
  state: TcpStateSchema.nullable(),
  ssState: z.string(),
  recvQ: z.number(),
  sendQ: z.number(),
  local: Endpoint,
  peer: Endpoint,
  timer: z.object({ name: z.enum(['on', 'keepalive', 'timewait', 'persist', 'delack', 'unknown']), expiresMs: z.number(), retransmits: z.number() }).optional(),
});
const StateRecordSchema = z.object({ state: TcpStateSchema, hostTime: z.string(), seen: z.enum(['trace', 'poll', 'inferred']) });
const ConnectionResultSchema = z.object({ local: z.string(), remote: z.string(), states: z.array(StateRecordSchema) });
const HostResultSchema = z.object({
  role: z.enum(['client', 'server']).optional(),
  expected: z.object({ passes: z.array(TcpStateSchema), endsIn: TcpStateSchema.optional(), noConnection: z.boolean().optional() }).optional(),
  passed: z.boolean(),
  reason: z.string().optional(),
  connections: z.array(ConnectionResultSchema),
  earlier: z.array(ConnectionResultSchema).optional(),
});
const ConnectionStatusSchema = z.enum(['connecting', 'connected', 'disconnected', 'reconnecting', 'failed', 'closed']);
const Base = { seq: z.number().int().min(0), t: z.number() };
const Host = z.string();
const Pane = ApiPaneName;

/** Mirrors LabEvent (shared/src/events.ts); the compile-time check below keeps the two in step. */
export const LabEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...Base,
    type: z.literal('session-start'),
    sessionId: z.string(),
    tool: z.string(),
    hosts: z.array(z.object({ label: Host, address: z.string(), experimentAddress: z.string(), user: z.string() })),
    experiment: z.string().optional(),
    port: z.number().int().optional(),
  }),
  z.object({ ...Base, type: z.literal('session-end'), reason: z.string() }),
  z.object({ ...Base, type: z.literal('connection'), host: Host, status: ConnectionStatusSchema, detail: z.string().optional(), attempt: z.number().int().optional() }),
  z.object({ ...Base, type: z.literal('clock'), host: Host, offsetMs: z.number(), rttMs: z.number() }),
  z.object({ ...Base, type: z.literal('capability'), host: Host, name: z.string(), ok: z.boolean(), detail: z.string() }),
  z.object({ ...Base, type: z.literal('pane-open'), host: Host, pane: Pane, cols: z.number().int(), rows: z.number().int() }),
  z.object({ ...Base, type: z.literal('pane-resize'), host: Host, pane: Pane, cols: z.number().int(), rows: z.number().int() }),
  z.object({ ...Base, type: z.literal('pane-output'), host: Host, pane: Pane, data: z.string() }),
  z.object({ ...Base, type: z.literal('pane-input'), host: Host, pane: Pane, data: z.string(), by: z.enum(['step', 'user']) }),
  z.object({ ...Base, type: z.literal('pane-close'), host: Host, pane: Pane, reason: z.string() }),
  z.object({ ...Base, type: z.literal('command'), host: Host, pane: Pane, text: z.string(), step: z.number().int().optional() }),
  z.object({ ...Base, type: z.literal('snapshot'), host: Host, hostTimeUs: z.number(), readUs: z.number().optional(), sockets: z.array(SsSocketSchema) }),
  z.object({ ...Base, type: z.literal('trace'), host: Host, hostTimeUs: z.number(), local: z.string(), remote: z.string(), from: TcpStateSchema, to: TcpStateSchema }),
  z.object({
    ...Base,
    type: z.literal('transition'),
    host: Host,
    hostTimeUs: z.number(),
    local: z.string(),
    remote: z.string(),
    state: TcpStateSchema,
    seen: z.enum(['trace', 'poll', 'inferred']),
  }),
  z.object({ ...Base, type: z.literal('firewall'), host: Host, action: z.enum(['add', 'remove']), command: z.string(), rule: FirewallRule.optional(), owner: z.string() }),
  z.object({
    ...Base,
    type: z.literal('packet'),
    host: Host,
    hostTimeUs: z.number(),
    direction: z.enum(['in', 'out']),
    local: z.string(),
    remote: z.string(),
    flags: z.array(z.enum(['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'])),
    tcpSeq: z.number().int(),
    tcpAck: z.number().int(),
    length: z.number().int(),
    dropped: z.boolean().optional(),
    frame: z.number().int().optional(),
  }),
  z.object({
    ...Base,
    type: z.literal('step'),
    index: z.number().int().min(0),
    phase: z.enum(['ready', 'start', 'end', 'failed']),
    summary: z.string(),
    explain: z.string().optional(),
    detail: z.string().optional(),
  }),
  z.object({ ...Base, type: z.literal('note'), host: Host.optional(), text: z.string() }),
  z.object({ ...Base, type: z.literal('result'), passed: z.boolean(), hosts: z.record(z.string(), HostResultSchema) }),
]);

// The schema and the hand-written LabEvent type must describe the same events: a field added to
// one and not the other fails `npm run typecheck` here.
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const eventSchemaMatchesLabEvent: MutuallyAssignable<z.infer<typeof LabEventSchema>, LabEvent> = true;
void eventSchemaMatchesLabEvent;

/** What the workspace is doing; one at a time. */
export const BackendState = z.discriminatedUnion('phase', [
  z.strictObject({ phase: z.literal('idle') }),
  z.strictObject({ phase: z.literal('connecting') }),
  z.strictObject({ phase: z.literal('connected'), session: SessionId }),
  z.strictObject({ phase: z.literal('running'), session: SessionId, experiment: ExperimentId, outDir: z.string() }),
  z.strictObject({ phase: z.literal('closing') }),
]);
export type BackendState = z.infer<typeof BackendState>;

export const ExperimentSummary = z.strictObject({
  id: ExperimentId,
  title: z.string(),
  summary: z.string(),
  explanation: z.string(),
  port: z.number().int(),
  roles: z.strictObject({ client: ApiHostLabel, server: ApiHostLabel }),
  steps: z.array(z.strictObject({ summary: z.string(), explain: z.string().optional() })),
  expect: z.record(z.string(), z.strictObject({ passes: z.array(TcpStateSchema), endsIn: TcpStateSchema.optional(), noConnection: z.boolean().optional() })),
  /** Built in, or from the user's experiments folder (its file). */
  source: z.enum(['builtin', 'user']).default('builtin'),
  file: z.string().optional(),
});
export type ExperimentSummary = z.infer<typeof ExperimentSummary>;

export const HostInfo = z.strictObject({ label: ApiHostLabel, address: z.string(), port: z.number().int(), user: z.string(), experimentAddress: z.string() });
export type HostInfo = z.infer<typeof HostInfo>;

/** Why a host could not be connected, with what the first-connection dialog needs. */
export const HostProblem = z.strictObject({
  host: z.string(),
  kind: z.enum(['unknown-host-key', 'changed-host-key', 'revoked-host-key', 'auth', 'unreachable', 'timeout', 'other']),
  message: z.string(),
  /** For host-key problems: the key the host presented. */
  fingerprint: Fingerprint.optional(),
  /** For a changed key: the fingerprints known_hosts has, the file, and the command that removes the old entry. */
  knownFingerprints: z.array(Fingerprint).optional(),
  knownHostsFile: z.string().optional(),
  fix: z.string().optional(),
  /** Set when the problem is with the host's jump host (ProxyJump, as written: `[user@]host[:port]`), not the host itself. */
  jumpHost: z.string().optional(),
});
export type HostProblem = z.infer<typeof HostProblem>;

export const ApiError = z.strictObject({
  /** In a lab assistant's words. */
  message: z.string(),
  /** Per host, when connecting failed. */
  hosts: z.array(HostProblem).optional(),
});
export type ApiError = z.infer<typeof ApiError>;

/** What each method answers when it succeeds. */
export const ReplyResults = {
  connect: z.strictObject({ session: SessionId }),
  disconnect: z.strictObject({}),
  run: z.strictObject({ session: SessionId, outDir: z.string() }),
  abort: z.strictObject({}),
  ...HostsReplyResults,
  ...RunReplyResults,
  ...ReportReplyResults,
} satisfies Record<LabMethod, z.ZodType>;
export type ReplyResult<M extends LabMethod> = z.infer<(typeof ReplyResults)[M]>;

const ReplyMessage = z.discriminatedUnion('ok', [
  z.strictObject({ type: z.literal('reply'), id: RequestId, ok: z.literal(true), result: z.record(z.string(), z.unknown()) }),
  z.strictObject({ type: z.literal('reply'), id: RequestId, ok: z.literal(false), error: ApiError }),
]);

export const ServerMessage = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hello'),
    version: z.literal(LAB_API_VERSION),
    hosts: z.array(HostInfo),
    experiments: z.array(ExperimentSummary),
    state: BackendState,
    /** Where session logs are written, for the status line. */
    outDir: z.string(),
    /** Set by `tcplab web --replay DIR`: a recorded run, read back with no hosts; nothing can be run. */
    replay: z.strictObject({ dir: z.string() }).optional(),
  }),
  z.strictObject({ type: z.literal('state'), state: BackendState }),
  z.strictObject({
    type: z.literal('event'),
    session: SessionId,
    event: LabEventSchema,
    /**
     * On pane output: characters of this pane's output right before `data` that the engine passed
     * over, lines of a flood that would have scrolled past the scrollback unseen
     * (electron/web/pane-output-relay.ts). The session log has them; the pane need not.
     */
    passedOver: z.number().int().min(1).optional(),
  }),
  /** Several consecutive events of one session, in log order: the same as as many `event` messages. */
  z.strictObject({ type: z.literal('events'), session: SessionId, events: z.array(LabEventSchema).min(1).max(MAX_EVENTS_PER_MESSAGE) }),
  ReplyMessage,
  /** A problem not tied to a request (a message that was refused, a run that failed to start). */
  z.strictObject({ type: z.literal('notice'), level: z.enum(['info', 'error']), text: z.string() }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type SessionEventMessage = Extract<ServerMessage, { type: 'event' }>;
export type SessionEventsMessage = Extract<ServerMessage, { type: 'events' }>;

/**
 * Packs consecutive event messages into `events` messages, one per run of the same session, each
 * within MAX_EVENTS_PER_MESSAGE events and about EVENTS_BATCH_BYTES (`sizeOf` estimates an
 * event's JSON length; an event larger than the budget travels alone). A lone event stays an
 * `event` message. Order is kept.
 */
export function batchEvents(
  messages: Iterable<SessionEventMessage>,
  sizeOf: (event: LabEvent) => number,
  budget = EVENTS_BATCH_BYTES,
): Array<SessionEventMessage | SessionEventsMessage> {
  const out: Array<SessionEventMessage | SessionEventsMessage> = [];
  let session: string | undefined;
  let events: LabEvent[] = [];
  let size = 0;
  const close = (): void => {
    if (session === undefined || events.length === 0) return;
    const first = events[0]!;
    out.push(events.length === 1 ? { type: 'event', session, event: first } : { type: 'events', session, events });
    events = [];
    size = 0;
  };
  for (const message of messages) {
    if (message.passedOver !== undefined) {
      close(); // an `events` message has no room for it: it travels alone
      out.push(message);
      continue;
    }
    const bytes = sizeOf(message.event);
    if (message.session !== session || events.length >= MAX_EVENTS_PER_MESSAGE || (events.length > 0 && size + bytes > budget)) close();
    session = message.session;
    events.push(message.event);
    size += bytes;
  }
  close();
  return out;
}

/** The events of an `event` or `events` message, with their session, one by one (for consumers that take them singly). */
export function eachSessionEvent(message: SessionEventMessage | SessionEventsMessage, visit: (message: SessionEventMessage) => void): void {
  if (message.type === 'event') return visit(message);
  for (const event of message.events) visit({ type: 'event', session: message.session, event });
}

// ---------------------------------------------------------------------------------------------
// Parsing at the boundary

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Turns zod's issues into one line a person can act on: `request.method: ...; data: ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`)
    .join('; ');
}

function parseWith<T>(schema: z.ZodType<T>, raw: string | unknown, what: string): Parsed<T> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    if (raw.length > MAX_MESSAGE_BYTES) return { ok: false, error: `${what} refused: larger than ${MAX_MESSAGE_BYTES} bytes` };
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, error: `${what} refused: not JSON` };
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) return { ok: false, error: `${what} refused: ${describeIssues(result.error)}` };
  return { ok: true, value: result.data };
}

/** For the engine side: a message from the renderer (JSON text or an IPC-cloned object). */
export function parseClientMessage(raw: string | unknown): Parsed<ClientMessage> {
  return parseWith(ClientMessage, raw, 'message from the app');
}

/** For the renderer side: a message from the engine. */
export function parseServerMessage(raw: string | unknown): Parsed<ServerMessage> {
  return parseWith(ServerMessage, raw, 'message from the engine');
}

/** Checks a successful reply's result against what its method promises. */
export function parseReplyResult<M extends LabMethod>(method: M, result: unknown): Parsed<ReplyResult<M>> {
  // TypeScript cannot narrow the schema map by a generic key; ReplyResults[M] parses to ReplyResult<M> by definition.
  const schema = ReplyResults[method] as unknown as z.ZodType<ReplyResult<M>>;
  return parseWith(schema, result, `reply to ${method}`);
}
