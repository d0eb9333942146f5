/** One xterm.js terminal on an engine PTY (the hub owns it; this places it and keeps it fitted). */
import { useEffect, useRef } from 'react';
import type { PaneName } from '../../../shared/src/events';
import type { ApiHostLabel } from '../../../shared/src/lab-api';
import type { TerminalHub } from '../terminals/terminal-hub';

export function TerminalPane({ hub, host, pane, title }: { hub: TerminalHub; host: ApiHostLabel; pane: PaneName; title: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const terminal = hub.get(host, pane);
    terminal.mount(element);
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => terminal.fit());
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
    };
  }, [hub, host, pane]);
  return (
    <section className="flex min-h-0 flex-1 flex-col" aria-label={`${host} ${title}`}>
      <div className="flex items-center justify-between px-2 pt-1 pb-0.5 text-[10.5px] font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
        <span>{title}</span>
        <span className="font-normal normal-case tracking-normal text-slate-400">{pane} pane</span>
      </div>
      <div
        ref={ref}
        data-testid={`pane-${host}-${pane}`}
        className="pane-host min-h-0 flex-1 overflow-hidden rounded-md bg-[#fbfcfe] px-1.5 py-1 ring-1 ring-slate-200 dark:bg-[#0b1220] dark:ring-slate-800"
        onClick={() => hub.get(host, pane).term.focus()}
      />
    </section>
  );
}
