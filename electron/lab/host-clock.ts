/**
 * The host's clock offset from this machine, NTP-style: round trips over one exec channel, the
 * host answering each with its wall clock; the sample with the smallest round trip wins, and
 * offset = hostTime - midpoint of the round trip. Error is at most half that round trip.
 * This machine's side is nowMs(), the session log's own `t` axis (the wall clock; see event-log.ts),
 * so host times minus this offset land among the controller's markers, and the offset holds over
 * a session because both sides are wall clocks kept to UTC.
 */
import { onLines } from './channel-lines';
import type { SshHost } from './ssh-host';
import { nowMs } from './event-log';

export interface ClockEstimate {
  offsetMs: number;
  rttMs: number;
}

export async function estimateClockOffset(host: SshHost, samples = 8): Promise<ClockEstimate> {
  // bash's $EPOCHREALTIME (bash 5) reads the clock without forking `date`, whose start-up time
  // would otherwise count against the host's answer; older shells fall back to date.
  const channel = await host.openExec(
    `bash -c 'while read -r _; do if [ -n "$EPOCHREALTIME" ]; then echo "\${EPOCHREALTIME/[.,]/}000"; else date +%s%N; fi; done'`,
  );
  const waiters: Array<(line: string) => void> = [];
  onLines(channel, (line) => waiters.shift()?.(line));
  // The first answer waits for the host's login shell to start (seconds where ~/.bashrc does
  // much, e.g. pyenv), which is not part of any round trip; later answers are quick.
  const nextLine = (timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${host.label}: no answer from the clock probe within ${timeoutMs / 1000} s`)), timeoutMs);
      waiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  let best: ClockEstimate | undefined;
  try {
    for (let i = 0; i < samples; i++) {
      const sent = nowMs();
      channel.write('\n');
      const hostMs = Number(await nextLine(i === 0 ? 30_000 : 5000)) / 1e6;
      const received = nowMs();
      const rttMs = received - sent;
      if (!Number.isFinite(hostMs)) throw new Error(`${host.label}: the clock probe printed no time (is GNU date there?)`);
      if (!best || rttMs < best.rttMs) best = { offsetMs: hostMs - (sent + received) / 2, rttMs };
    }
  } finally {
    channel.end();
  }
  return best!; // samples >= 1, so at least one estimate exists
}
