/**
 * A host's sockets on the experiment port: the latest `ss` snapshot merged with the reported
 * transitions (state/shown.ts, the source the state diagram reads too), so a state the tracer
 * reported after ss last ran shows here as on the diagram. Timers and queues are ss's, shown when
 * ss's row is the current word on the socket; timers count down between polls.
 */
import { useEffect, useState } from 'react';
import type { SsSocket } from '../../../shared/src/observations';
import { currentState, isCarried, observedHost, tableRows } from '../state/shown';
import { timerLeftMs, type HostView } from '../state/workspace';
import { StateBadge } from './states';

/** The time now, renewed every `everyMs` while `ticking` (a timer is shown counting down). */
function useNow(everyMs: number, ticking: boolean): number {
  const [now, setNow] = useState(() => performance.timeOrigin + performance.now());
  useEffect(() => {
    if (!ticking) return;
    setNow(performance.timeOrigin + performance.now());
    const timer = setInterval(() => setNow(performance.timeOrigin + performance.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, ticking]);
  return now;
}

/**
 * ss's timers: the word the column shows (short: it is the narrowest column on a projector), what
 * the tooltip calls the timer, and what its count counts.
 */
const TIMERS: Record<string, { label: string; meaning: string; tries: string }> = {
  on: { label: 'retrans', meaning: 'retransmission timer', tries: 'retransmission' },
  timewait: { label: 'timewait', meaning: 'TIME_WAIT timer (2 MSL)', tries: 'retransmission' },
  // The kernel reports keepalive probes sent (icsk_probes_out) as this timer's count, not retransmissions.
  keepalive: { label: 'keepalive', meaning: 'keepalive timer', tries: 'keepalive probe' },
  // The kernel's probe timer: a segment is queued that has not left yet, for a zero window or, in
  // lost-fin, because the host's own firewall refuses the FIN (a local DROP fails the send, so
  // the FIN never reaches the retransmission queue; ss's count is then the probes so far).
  persist: { label: 'persist', meaning: 'probe timer: a segment that has not left yet is tried again', tries: 'probe' },
};

/** The timer cell: short text that fits a 1280 px window, and its spelled-out tooltip. */
function formatTimer(socket: SsSocket, leftMs: number | undefined): { text: string; title: string } | undefined {
  if (!socket.timer || leftMs === undefined) return undefined;
  const { name, retransmits } = socket.timer;
  const timer = TIMERS[name] ?? { label: name, meaning: `${name} timer`, tries: 'retransmission' };
  // The countdown comes before the retransmissions, so a cut cell still shows it.
  const left = leftMs >= 10_000 ? `${Math.ceil(leftMs / 1000)}s` : `${(leftMs / 1000).toFixed(1)}s`;
  const text = `${timer.label} ${left}${retransmits > 0 ? ` ×${retransmits}` : ''}`;
  const retries = retransmits > 0 ? `, ${retransmits} ${timer.tries}${retransmits === 1 ? '' : 's'} so far` : '';
  return { text, title: `${timer.meaning}: ${left} left${retries} (ss: timer:(${name},…))` };
}

export function SocketTable({ host, port, at }: { host: HostView; port: number | undefined; at?: number | undefined }) {
  // Until this session's first look at the host, the rows are what the last one saw (dimmed;
  // HostColumn's header says so), and their timers go on counting down from that look.
  const carried = isCarried(host);
  const observed = observedHost(host);
  const rows = tableRows(host);
  // Ticks only while a timer counts down: an idle table re-rendered 4 times a second for nothing.
  const live = useNow(250, at === undefined && rows.some((row) => row.socket?.timer));
  // At a past instant (the timeline's cursor), timers read as they did then.
  const now = at ?? live;
  return (
    <div className="min-h-0 overflow-auto" data-testid={`sockets-${host.label}`}>
      <table className="w-full table-fixed border-collapse font-mono text-[11px] tracking-tight">
        <thead className="sticky top-0 bg-slate-50 text-left text-[10.5px] font-sans font-semibold uppercase tracking-wide text-slate-500 dark:bg-slate-900 dark:text-slate-400">
          <tr>
            {/* At 1280 px a host's column is ~450 px wide: the lab's addresses and ports, the longest
                state's badge and a timer such as "retrans 0.3s ×10" each fit whole (checked in
                e2e/workspace.e2e.test.ts), so the countdown is never the part cut off. */}
            <th className="w-[27%] px-1 py-1">Local</th>
            <th className="w-[27%] px-1 py-1">Remote</th>
            <th className="w-[20%] px-1 py-1">State</th>
            <th className="px-1 py-1">Timer</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={4} className="px-2 py-1.5 font-sans text-slate-400 italic">
                {observed.snapshotT === undefined && observed.transitions.length === 0 ? 'not observed yet' : `no socket on port ${port ?? '?'}`}
              </td>
            </tr>
          ) : (
            rows.map((row) => {
              const state = currentState(row);
              const { socket } = row;
              const leftMs = socket && timerLeftMs(socket, observed.snapshotT, now);
              // A last-seen timer that has run out tells nothing: the host has moved on unseen.
              const timer = socket && !(carried && leftMs === 0) ? formatTimer(socket, leftMs) : undefined;
              return (
                <tr
                  key={`${row.local}-${row.remote}`}
                  data-state={state}
                  data-source={carried ? 'carried' : socket ? 'ss' : 'transition'}
                  title={carried ? 'Last seen before reconnecting: the host is being looked at again' : socket ? undefined : 'Reported by the tracer after ss last listed the sockets'}
                  className={`border-t border-slate-100 dark:border-slate-800 ${carried ? 'opacity-60' : ''}`}
                >
                  <td className="truncate px-1 py-0.5" title={row.local}>
                    {row.local}
                  </td>
                  <td className="truncate px-1 py-0.5" title={row.remote}>
                    {row.remote}
                  </td>
                  <td className="px-1 py-0.5">
                    <StateBadge state={state} />
                  </td>
                  <td className="truncate px-1 py-0.5 tabular-nums text-slate-600 dark:text-slate-300" title={timer?.title}>
                    {timer?.text}
                  </td>
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
