/**
 * `tcplab web --replay DIR`: a recorded run read back with no hosts at all (DESIGN.md: "Replay
 * is reading it back"). The session log is checked event by event against the LabApi schema
 * when it is opened (a bad line is reported with its number, before the server starts), then
 * every renderer that connects gets the hello and the whole log in `events` messages (packed
 * once, here: a hundred or so for 100,000 events), exactly as a live page gets its session's
 * history: the workspace fold, the terminals and the
 * timeline are the same code either way. Requests that would touch a host are refused.
 */
import type { LabEvent, PaneName } from '../../shared/src/events';
import { batchEvents, describeIssues, LabEventSchema, type ApiHostLabel, type LabRequest, type ServerMessage, type SessionEventMessage, type SessionEventsMessage } from '../../shared/src/lab-api';
import { readRun, type RunRecord } from '../figures/run-record';
import { ApiFailure, LabBackend } from './lab-backend';

export class ReplayError extends Error {}

const SESSION_ID = /^[0-9a-f]{8}$/;

export class ReplayBackend extends LabBackend {
  private readonly recorded: RunRecord;
  private readonly messages: Array<SessionEventMessage | SessionEventsMessage>;
  private readonly count: number;

  constructor(readonly dir: string) {
    super({ hosts: undefined, experiments: [], outDir: dir });
    try {
      this.recorded = readRun(dir);
    } catch (error) {
      throw new ReplayError((error as Error).message);
    }
    const session = this.recorded.start.sessionId;
    if (!SESSION_ID.test(session)) throw new ReplayError(`${dir}/session.jsonl: session id "${session}" is not one TCP Lab writes (8 hex digits)`);
    const single: SessionEventMessage[] = this.recorded.events.map((event, index) => {
      const parsed = LabEventSchema.safeParse(event);
      if (!parsed.success) throw new ReplayError(`${dir}/session.jsonl:${index + 1}: not a TCP Lab event: ${describeIssues(parsed.error)}`);
      return { type: 'event', session, event: parsed.data as LabEvent };
    });
    this.count = single.length;
    this.messages = batchEvents(single, (event) => JSON.stringify(event).length);
  }

  get eventCount(): number {
    return this.count;
  }

  override hello(): ServerMessage {
    const hello = super.hello();
    if (hello.type !== 'hello') return hello;
    const hosts = hello.hosts.map((info) => {
      const recorded = this.recorded.start.hosts.find((h) => h.label === info.label);
      return recorded ? { ...info, address: recorded.address, user: recorded.user, experimentAddress: recorded.experimentAddress } : info;
    });
    return { ...hello, hosts, replay: { dir: this.dir } };
  }

  override replay(): readonly (SessionEventMessage | SessionEventsMessage)[] {
    return this.messages;
  }

  override setConsumers(): void {
    // Nothing to release: no pane is open on a host.
  }

  override async handle(request: LabRequest): Promise<Record<string, unknown>> {
    if (request.method === 'hosts-get') return super.handle(request);
    throw new ApiFailure({ message: `This is a replay of ${this.dir}: there are no hosts to ${request.method === 'connect' ? 'connect to' : 'act on'}. Start \`tcplab web --hosts FILE\` or \`--lab local\` for a live lab.` });
  }

  override input(host: ApiHostLabel, pane: PaneName): void {
    throw new ApiFailure({ message: `${host}'s ${pane} pane is a recording (tcplab web --replay): typing goes nowhere.` });
  }

  override acknowledge(): void {
    // A recorded pane has no channel to resume.
  }

  override resize(): void {
    // The recorded panes keep their recorded size.
  }

  override async shutdown(): Promise<void> {
    // No hosts to clean up.
  }
}
