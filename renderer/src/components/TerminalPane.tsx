/**
 * One xterm.js terminal on an engine PTY (the hub owns it; this places it, keeps it fitted, and
 * gives it a search box: Ctrl+Shift+F or the ⌕ button; Enter next, Shift+Enter previous, Esc closes).
 */
import { memo, useEffect, useRef, useState } from 'react';
import type { PaneName } from '../../../shared/src/events';
import type { ApiHostLabel } from '../../../shared/src/lab-api';
import type { SearchResult, TerminalHub } from '../terminals/terminal-hub';

const SHORTCUTS = 'Ctrl+Shift+F search · Ctrl+Shift+C copy selection · Ctrl+Shift+V paste · Ctrl+C goes to the host';

/** Memoized: its props never change, so the column's re-renders (each snapshot) pass it by. */
export const TerminalPane = memo(function TerminalPane({ hub, host, pane, title }: { hub: TerminalHub; host: ApiHostLabel; pane: PaneName; title: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [searching, setSearching] = useState(false);
  const [term, setTerm] = useState('');
  const [result, setResult] = useState<SearchResult>();

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const terminal = hub.get(host, pane);
    terminal.mount(element);
    terminal.onSearchRequest = () => {
      setSearching(true);
      // Already open: take the focus back to the box.
      requestAnimationFrame(() => input.current?.select());
    };
    terminal.onSearchResults = setResult;
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => terminal.fit());
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      terminal.onSearchRequest = undefined;
      terminal.onSearchResults = undefined;
    };
  }, [hub, host, pane]);

  const find = (direction: 'next' | 'previous', text = term): void => {
    const found = hub.get(host, pane).find(text, direction);
    if (!found && text) setResult({ index: -1, count: 0 });
  };
  const close = (): void => {
    setSearching(false);
    setResult(undefined);
    const terminal = hub.get(host, pane);
    terminal.clearSearch();
    terminal.term.focus();
  };

  return (
    <section className="flex min-h-0 flex-1 flex-col" aria-label={`${host} ${title}`}>
      <div className="flex items-center gap-2 px-2 pt-1 pb-0.5 text-[10.5px] font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
        <span>{title}</span>
        <span className="font-normal normal-case tracking-normal text-slate-400" title={SHORTCUTS}>
          {pane} pane
        </span>
        <button
          type="button"
          title={`Search this pane (Ctrl+Shift+F). ${SHORTCUTS}`}
          aria-label={`Search ${host} ${pane} pane`}
          data-testid={`search-button-${host}-${pane}`}
          onClick={() => (searching ? close() : (setSearching(true), requestAnimationFrame(() => input.current?.focus())))}
          className="ml-auto rounded px-1 font-normal normal-case tracking-normal hover:bg-slate-100 dark:hover:bg-slate-800"
        >
          ⌕ Search
        </button>
      </div>
      <div className="relative flex min-h-0 flex-1 flex-col">
        {searching && (
          <div
            className="absolute top-1 right-3 z-10 flex items-center gap-1 rounded-md border border-slate-300 bg-white px-1.5 py-1 text-[12px] shadow-md dark:border-slate-600 dark:bg-slate-800"
            role="search"
            data-testid={`search-${host}-${pane}`}
          >
            <input
              ref={input}
              autoFocus
              value={term}
              placeholder="Find in pane"
              aria-label={`Find in ${host} ${pane} pane`}
              data-testid={`search-input-${host}-${pane}`}
              onChange={(e) => {
                setTerm(e.target.value);
                find('next', e.target.value);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter') find(e.shiftKey ? 'previous' : 'next');
                else if (e.key === 'Escape') close();
              }}
              className="w-36 rounded border border-slate-300 bg-white px-1.5 py-0.5 font-mono text-[12px] outline-none focus:border-sky-500 dark:border-slate-600 dark:bg-slate-900"
            />
            <span className="min-w-[52px] text-center tabular-nums text-slate-500 dark:text-slate-400" data-testid={`search-count-${host}-${pane}`}>
              {result === undefined || !term ? '' : result.count === 0 ? 'no match' : result.index < 0 ? `${result.count}+` : `${result.index + 1} of ${result.count}`}
            </span>
            <button type="button" title="Previous match (Shift+Enter)" aria-label="Previous match" onClick={() => find('previous')} className="rounded px-1 hover:bg-slate-100 dark:hover:bg-slate-700">
              ↑
            </button>
            <button type="button" title="Next match (Enter)" aria-label="Next match" onClick={() => find('next')} className="rounded px-1 hover:bg-slate-100 dark:hover:bg-slate-700">
              ↓
            </button>
            <button type="button" title="Close (Esc)" aria-label="Close search" onClick={close} className="rounded px-1 hover:bg-slate-100 dark:hover:bg-slate-700">
              ×
            </button>
          </div>
        )}
        <div
          ref={ref}
          data-testid={`pane-${host}-${pane}`}
          className="pane-host min-h-0 flex-1 overflow-hidden rounded-md bg-[#fbfcfe] px-1.5 py-1 ring-1 ring-slate-200 dark:bg-[#0b1220] dark:ring-slate-800"
          onClick={() => hub.get(host, pane).term.focus()}
        />
      </div>
    </section>
  );
});
