/**
 * A host's sockets on the experiment port: the latest `ss` snapshot merged with the reported
 * transitions (state/shown.ts, the source the state diagram reads too), so a state the tracer
 * reported after ss last ran shows here as on the diagram. Timers and queues are ss's, shown when
 * ss's row is the current word on the socket; timers count down between polls.
 */
import { useEffect, useState } from 'react';
import type { SsSocket } from '../../../shared/src/observations';
import { currentState, tableRows } from '../state/shown';
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

function formatTimer(socket: SsSocket, leftMs: number | undefined): string {
  if (!socket.timer || leftMs === undefined) return '';
  const left = leftMs >= 10_000 ? `${Math.ceil(leftMs / 1000)} s` : `${(leftMs / 1000).toFixed(1)} s`;
  const retries = socket.timer.retransmits > 0 ? `, ${socket.timer.retransmits} retr.` : '';
  const name = socket.timer.name === 'on' ? 'retransmit' : socket.timer.name;
  return `${name} ${left}${retries}`;
}

export function SocketTable({ host, port, at }: { host: HostView; port: number | undefined; at?: number | undefined }) {
  const rows = tableRows(host);
  // Ticks only while a timer counts down: an idle table re-rendered 4 times a second for nothing.
  const live = useNow(250, at === undefined && rows.some((row) => row.socket?.timer));
  // At a past instant (the timeline's cursor), timers read as they did then.
  const now = at ?? live;
  return (
    <div className="min-h-0 overflow-auto" data-testid={`sockets-${host.label}`}>
      <table className="w-full table-fixed border-collapse font-mono text-[11px]">
        <thead className="sticky top-0 bg-slate-50 text-left text-[10.5px] font-sans font-semibold uppercase tracking-wide text-slate-500 dark:bg-slate-900 dark:text-slate-400">
          <tr>
            <th className="w-[30%] px-1.5 py-1">Local</th>
            <th className="w-[30%] px-1.5 py-1">Remote</th>
            <th className="w-[20%] px-1.5 py-1">State</th>
            <th className="px-1.5 py-1">Timer</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={4} className="px-2 py-1.5 font-sans text-slate-400 italic">
                {host.snapshotT === undefined && host.transitions.length === 0 ? 'not observed yet' : `no socket on port ${port ?? '?'}`}
              </td>
            </tr>
          ) : (
            rows.map((row) => {
              const state = currentState(row);
              const { socket } = row;
              return (
                <tr
                  key={`${row.local}-${row.remote}`}
                  data-state={state}
                  data-source={socket ? 'ss' : 'transition'}
                  title={socket ? undefined : 'Reported by the tracer after ss last listed the sockets'}
                  className="border-t border-slate-100 dark:border-slate-800"
                >
                  <td className="truncate px-1.5 py-0.5">{row.local}</td>
                  <td className="truncate px-1.5 py-0.5">{row.remote}</td>
                  <td className="px-1.5 py-0.5">
                    <StateBadge state={state} />
                  </td>
                  <td className="truncate px-1.5 py-0.5 tabular-nums text-slate-600 dark:text-slate-300">{socket ? formatTimer(socket, timerLeftMs(socket, host.snapshotT, now)) : ''}</td>
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
