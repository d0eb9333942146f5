/**
 * The running part of LabApi (shared/src/lab-api.ts) beyond `run` and `abort`: running an
 * experiment file the user opened, stepping through a run, and the host preflight panel.
 */
import { z } from 'zod';
import { CHECK_ITEMS, type HostCheck } from './preflight';

/** An experiment file is small; larger than this is not one. */
export const MAX_EXPERIMENT_FILE = 256 * 1024;

/** How a run proceeds: every step in turn, or each step after its explanation was read (proceed). */
export const RunPace = z.enum(['all', 'step']);

export const RunRequests = [
  /** Runs an experiment file the user opened (YAML or JSON text); errors name their line. */
  z.strictObject({
    method: z.literal('run-file'),
    name: z.string().min(1).max(200),
    text: z.string().min(1, 'the file is empty').max(MAX_EXPERIMENT_FILE, `an experiment file is at most ${MAX_EXPERIMENT_FILE / 1024} KiB`),
    pace: RunPace.default('all'),
    swapRoles: z.boolean().default(false),
  }),
  /** Step-by-step runs: run the step whose explanation is showing ('step'), or the rest ('all'). */
  z.strictObject({ method: z.literal('proceed'), how: RunPace.default('step') }),
  /** Preflight both hosts (tcplab check) and answer with every item. */
  z.strictObject({ method: z.literal('check') }),
] as const;

const CheckItemSchema = z.strictObject({
  name: z.enum(CHECK_ITEMS),
  ok: z.boolean(),
  detail: z.string(),
  fix: z.string().optional(),
  severity: z.enum(['required', 'optional']),
});

export const HostCheckSchema = z.strictObject({
  host: z.string(),
  address: z.string(),
  user: z.string(),
  os: z.string(),
  items: z.array(CheckItemSchema),
  netcat: z.strictObject({ command: z.string(), flavor: z.string() }).optional(),
  sudo: z.enum(['none-needed', 'passwordless', 'with-password']).optional(),
  iptablesBackend: z.enum(['nf_tables', 'legacy']).optional(),
  clockOffsetMs: z.number().optional(),
});
/** A host the check could not reach or log into. */
export const UnreachableHostSchema = z.strictObject({ host: z.string(), address: z.string(), user: z.string(), error: z.string(), fingerprint: z.string().optional() });

// The schema and the engine's HostCheck must stay the same shape.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const hostCheckSchemaMatches: Same<z.infer<typeof HostCheckSchema>, HostCheck> = true;
void hostCheckSchemaMatches;

export const RunReplyResults = {
  'run-file': z.strictObject({ session: z.string(), outDir: z.string() }),
  proceed: z.strictObject({}),
  check: z.strictObject({ ok: z.boolean(), hosts: z.array(z.union([HostCheckSchema, UnreachableHostSchema])) }),
};
export type CheckReply = z.infer<(typeof RunReplyResults)['check']>;
