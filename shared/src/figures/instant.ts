/**
 * Instants in a recorded run, as a user types them (`--at`, `--from`, `--to`):
 *   - an ISO time with a zone: `2026-11-24T00:54:06.5Z`, `2026-11-24T01:54:06+01:00`;
 *   - a time of day on the run's day, as the prompts show it: `00:54:06`, `00:54:06.120345`;
 *   - an offset from the run's start: `+1.5s`, `+250ms`, `+2min`.
 * Times of day are read in the hosts' zone, which `promptUtcOffsetMinutes` finds from the
 * prompts themselves (`[HH:MM:SS] H1#` beside the log's controller time).
 */
import type { LabEvent } from '../events';

export const INSTANT_FORMS = 'an ISO time (2026-11-24T00:54:06.5Z), a time of day on the run\'s day as the prompts show it (HH:MM:SS or HH:MM:SS.ffffff), or an offset from the run\'s start (+1.5s, +250ms, +2min)';

export class InstantError extends Error {}

export interface InstantContext {
  /** The run's start, epoch ms (the session-start event's `t`). */
  startMs: number;
  /** The zone of times of day: minutes east of UTC. */
  utcOffsetMin: number;
}

const DAY_MS = 86_400_000;

/** Epoch milliseconds for `spec`; throws InstantError naming the value and the accepted forms. */
export function parseInstant(spec: string, context: InstantContext, what = '--at'): number {
  const text = spec.trim();
  const offset = /^\+(\d+(?:\.\d+)?)(ms|s|min)$/.exec(text);
  if (offset) {
    const unit = offset[2] === 'ms' ? 1 : offset[2] === 's' ? 1000 : 60_000;
    return context.startMs + Number(offset[1]) * unit;
  }
  const clock = /^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (clock) {
    const [h, m, s] = [Number(clock[1]), Number(clock[2]), Number(clock[3])];
    if (h > 23 || m > 59 || s > 59) throw new InstantError(`${what} "${spec}": no such time of day; use ${INSTANT_FORMS}`);
    const fraction = clock[4] ? Number(`0.${clock[4]}`) : 0;
    const zoneMs = context.utcOffsetMin * 60_000;
    const dayStart = Math.floor((context.startMs + zoneMs) / DAY_MS) * DAY_MS - zoneMs;
    let at = dayStart + ((h * 60 + m) * 60 + s + fraction) * 1000;
    // A run that crosses midnight: a time of day well before the start means the next day.
    if (at < context.startMs - DAY_MS / 2) at += DAY_MS;
    return at;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    // Date.parse keeps milliseconds only; add the remaining microseconds back.
    const parsed = Date.parse(text);
    if (!Number.isNaN(parsed)) {
      const micros = /\.\d{3}(\d{1,3})/.exec(text)?.[1];
      return parsed + (micros ? Number(`0.${micros.padEnd(3, '0')}`) : 0);
    }
  }
  throw new InstantError(`${what} "${spec}" is not a time; use ${INSTANT_FORMS}`);
}

/**
 * The hosts' zone, from the first prompt in the log: its `[HH:MM:SS]` against the UTC time of
 * the event that carried it, rounded to a quarter hour. 0 (UTC) when no prompt was recorded.
 */
export function promptUtcOffsetMinutes(events: readonly LabEvent[]): number {
  for (const event of events) {
    if (event.type !== 'pane-output') continue;
    const prompt = /\[(\d{2}):(\d{2}):(\d{2})\] /.exec(event.data);
    if (!prompt) continue;
    const shown = (Number(prompt[1]) * 60 + Number(prompt[2])) * 60 + Number(prompt[3]);
    const utc = Math.floor((event.t % DAY_MS) / 1000);
    let diff = shown - utc;
    if (diff > 43_200) diff -= 86_400;
    if (diff < -43_200) diff += 86_400;
    return Math.round(diff / 900) * 15;
  }
  return 0;
}

/** `HH:MM:SS.mmm` of an instant in the given zone (as the prompts would show it). */
export function timeOfDay(ms: number, utcOffsetMin: number, digits: 0 | 3 | 6 = 3): string {
  const local = ms + utcOffsetMin * 60_000;
  const dayMs = ((local % DAY_MS) + DAY_MS) % DAY_MS;
  const seconds = Math.floor(dayMs / 1000);
  const hh = String(Math.floor(seconds / 3600)).padStart(2, '0');
  const mm = String(Math.floor(seconds / 60) % 60).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  if (digits === 0) return `${hh}:${mm}:${ss}`;
  const fraction = String(Math.floor((dayMs % 1000) * 10 ** (digits - 3))).padStart(digits, '0');
  return `${hh}:${mm}:${ss}.${fraction}`;
}
