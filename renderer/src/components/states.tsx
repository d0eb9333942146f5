/** How TCP states look everywhere in the app: the article's names, one color family per path. */

const STATE_CLASSES: Record<string, string> = {
  LISTEN: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100',
  SYN_SENT: 'bg-sky-100 text-sky-900 dark:bg-sky-900/60 dark:text-sky-100',
  SYN_RECV: 'bg-sky-100 text-sky-900 dark:bg-sky-900/60 dark:text-sky-100',
  ESTABLISHED: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/60 dark:text-emerald-100',
  // The active close path (the side that sends FIN first)...
  FIN_WAIT1: 'bg-amber-100 text-amber-900 dark:bg-amber-800/60 dark:text-amber-50',
  FIN_WAIT2: 'bg-amber-100 text-amber-900 dark:bg-amber-800/60 dark:text-amber-50',
  CLOSING: 'bg-orange-100 text-orange-900 dark:bg-orange-800/60 dark:text-orange-50',
  TIME_WAIT: 'bg-violet-100 text-violet-900 dark:bg-violet-800/60 dark:text-violet-50',
  // ...and the passive close path.
  CLOSE_WAIT: 'bg-cyan-100 text-cyan-900 dark:bg-cyan-800/60 dark:text-cyan-50',
  LAST_ACK: 'bg-cyan-100 text-cyan-900 dark:bg-cyan-800/60 dark:text-cyan-50',
  CLOSED: 'bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400',
};

export function stateClass(state: string): string {
  return STATE_CLASSES[state] ?? 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300';
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`inline-block rounded px-1.5 py-px font-mono text-[11px] font-bold tracking-tight ${stateClass(state)}`}>{state}</span>;
}
