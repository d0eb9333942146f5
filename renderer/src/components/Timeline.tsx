/**
 * The timeline panel: two lanes (H1, H2) on one clock-corrected time axis, with each
 * connection's states as named bands, packets as numbered arrows between the lanes (a cross
 * where a dropped one died), and markers for commands typed by steps, Ctrl-C, firewall changes
 * and connection loss. Drawn on a canvas (timeline/draw.ts), only what is in view.
 *
 * Zoom: wheel (at the pointer), pinch (ctrl+wheel), the − / + buttons, or the - / + keys.
 * Pan: drag, shift+wheel or a horizontal swipe, ← / →. Fit: the ⤢ button or Home.
 * Cursor: click (or drag along the time axis at the top) to view that instant: the panes, the
 * socket tables and the state diagram show the run as it was then; Shift+← / → step it; Esc or
 * "Back to live" returns. While live and not panned, the view follows the newest events.
 */
import { memo, useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { timeOfDay } from '../../../shared/src/figures/instant';
import { drawTimeline, palette, type DrawStats } from '../timeline/draw';
import { AXIS_H, GUTTER, hitTest, layout, type Hit } from '../timeline/layout';
import type { Band } from '../timeline/model';
import type { Recording } from '../timeline/recording';
import { clampToData, fit, pan, zoom, type TimeView } from '../timeline/scale';

export interface TimelineTestHooks {
  /** Every transition drawn, in order of axis time. */
  transitions(): Array<{ host: string; state: string; atMs: number; hostTimeUs: number }>;
  packets(): Array<{ from: string; to: string | undefined; number: number; flags: string; dropped: boolean }>;
  view(): TimeView;
  setCursor(ms: number | undefined): void;
  pastPaneText(host: 'H1' | 'H2', pane: 'upper' | 'lower'): Promise<string>;
  /**
   * Pans for `frames` animation frames ('idle': frames with no drawing, the page's floor); times
   * each draw, each frame's work (its callback to the end of its rendering) and the intervals
   * between frames.
   */
  benchPan(frames: number, mode: 'lod' | 'all' | 'idle'): Promise<{ drawMs: number[]; frameMs: number[]; workMs: number[]; stats: DrawStats }>;
  eventCount(): number;
}

declare global {
  interface Window {
    tcplabTimeline?: TimelineTestHooks;
  }
}

export interface TimelineProps {
  recording: Recording;
  dark: boolean;
  cursor: number | undefined;
  onCursor: (ms: number | undefined) => void;
  /** Events still arrive (a live session): follow the newest unless the user moved the view. */
  live: boolean;
  utcOffsetMin: number;
  pastPaneText: (host: 'H1' | 'H2', pane: 'upper' | 'lower') => Promise<string>;
  /** Start collapsed unless the user opened it before (App: short windows, projectors). */
  collapsedByDefault?: boolean;
}

const HEIGHT_KEY = 'tcplab.timeline.open';

/** Memoized: it follows the recording itself (useSyncExternalStore), not the workspace's renders. */
export const Timeline = memo(function Timeline({ recording, dark, cursor, onCursor, live, utcOffsetMin, pastPaneText, collapsedByDefault = false }: TimelineProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const viewRef = useRef<TimeView | undefined>(undefined);
  const followRef = useRef(true);
  const frameRef = useRef(0);
  const modeRef = useRef<'lod' | 'all'>('lod');
  const lastStats = useRef<DrawStats>({ bands: 0, packets: 0, markers: 0, labels: 0 });
  const cursorRef = useRef(cursor);
  cursorRef.current = cursor;
  const [open, setOpen] = useState(() => (localStorage.getItem(HEIGHT_KEY) ?? (collapsedByDefault ? 'closed' : 'open')) !== 'closed');
  const [hover, setHover] = useState<{ hit: NonNullable<Hit>; x: number; y: number }>();
  const [spanText, setSpanText] = useState('');
  // The first transitions, for the list below; refreshed by the drawing (once a frame at most), not per event.
  const [listed, setListed] = useState<Band[]>([]);
  const listedVersion = useRef(-1);
  const model = recording.model;
  const version = useSyncExternalStore(
    useCallback((listener: () => void) => recording.subscribe(listener), [recording]),
    () => recording.size,
  );
  const lay = useMemo(() => layout(model.hosts, model.rowsPerLane), [model, model.hosts.length]);

  // While a burst of events streams in (a replay sends 100,000), redraws for new data alone are
  // spaced so that drawing takes at most a fifth of the time: each waits four times the last
  // draw's duration. Panning, zooming and the cursor redraw at the next frame regardless.
  const dataDrawAfter = useRef(0);
  /** The strip's width in CSS pixels, as of its last resize. */
  const wrapWidth = useRef<number | undefined>(undefined);
  const dataTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const draw = useCallback(() => {
    frameRef.current = 0;
    const started = performance.now();
    const canvas = canvasRef.current;
    const wrap = wrapRef.current;
    if (!canvas || !wrap) return;
    // Read on resize only: reading it here, after the last frame's canvas writes, forced a layout
    // each pan step (about 1.7 ms a frame in a traced pan).
    const cssWidth = (wrapWidth.current ??= wrap.clientWidth);
    if (cssWidth <= GUTTER) return;
    const plotWidth = cssWidth - GUTTER;
    const extent = model.extent();
    let view = viewRef.current;
    if (!view || followRef.current) {
      view = extent ? fit(extent.fromMs, extent.toMs, plotWidth) : fit(Date.now() - 10_000, Date.now(), plotWidth);
    }
    if (view.width !== plotWidth) view = { ...view, width: plotWidth };
    viewRef.current = view;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(cssWidth * dpr);
    const h = Math.round(lay.height * dpr);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
      canvas.style.width = `${cssWidth}px`;
      canvas.style.height = `${lay.height}px`;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    lastStats.current = drawTimeline(
      ctx,
      { source: model, layout: lay, view, dataEndMs: model.endMs, cursorMs: cursorRef.current, utcOffsetMin, palette: palette(dark), mode: modeRef.current },
      cssWidth,
    );
    setSpanText(describeSpan(view.spanMs));
    if (listedVersion.current !== model.version) {
      listedVersion.current = model.version;
      setListed(model.firstBands(300));
    }
    const ended = performance.now();
    dataDrawAfter.current = ended + 4 * (ended - started);
  }, [model, lay, dark, utcOffsetMin]);

  const schedule = useCallback(() => {
    if (!frameRef.current) frameRef.current = requestAnimationFrame(draw);
  }, [draw]);

  useEffect(schedule, [schedule, cursor, open]);
  useEffect(() => {
    const wait = dataDrawAfter.current - performance.now();
    if (wait <= 0) return schedule();
    dataTimer.current ??= setTimeout(() => {
      dataTimer.current = undefined;
      schedule();
    }, wait);
  }, [schedule, version]);
  useEffect(() => () => clearTimeout(dataTimer.current), []);
  useEffect(() => {
    const wrap = wrapRef.current;
    if (!wrap) return;
    wrapWidth.current = undefined; // a reopened strip is a new element
    const observer = new ResizeObserver(() => {
      wrapWidth.current = wrap.clientWidth;
      schedule();
    });
    observer.observe(wrap);
    return () => observer.disconnect();
  }, [schedule, open]);
  useEffect(() => () => cancelAnimationFrame(frameRef.current), []);

  const setView = useCallback(
    (change: (view: TimeView) => TimeView) => {
      const view = viewRef.current;
      if (!view) return;
      followRef.current = false;
      const extent = model.extent();
      const next = change(view);
      viewRef.current = extent ? clampToData(next, extent.fromMs, extent.toMs) : next;
      schedule();
    },
    [model, schedule],
  );

  const fitAll = useCallback(() => {
    followRef.current = live;
    const extent = model.extent();
    const view = viewRef.current;
    if (extent && view) viewRef.current = fit(extent.fromMs, extent.toMs, view.width);
    schedule();
  }, [live, model, schedule]);

  // Test and benchmark hooks (read-only views, plus the cursor as a click would set it).
  useEffect(() => {
    window.tcplabTimeline = {
      transitions: () => model.allBands().map((b) => ({ host: b.host, state: b.state, atMs: b.startMs, hostTimeUs: b.hostTimeUs })),
      packets: () => model.allPackets().map((p) => ({ from: p.from, to: p.to, number: p.number, flags: p.flags, dropped: p.dropped !== undefined })),
      view: () => viewRef.current!,
      setCursor: onCursor,
      pastPaneText,
      eventCount: () => recording.size,
      benchPan: (frames, mode) =>
        new Promise((resolve) => {
          const drawMs: number[] = [];
          const frameMs: number[] = [];
          const workMs: number[] = [];
          modeRef.current = mode === 'all' ? 'all' : 'lod';
          const extent = model.extent()!;
          const view0 = viewRef.current!;
          // A tenth of the run in view, panned across it.
          viewRef.current = { ...view0, startMs: extent.fromMs, spanMs: (extent.toMs - extent.fromMs) / 10 };
          followRef.current = false;
          const step = ((extent.toMs - extent.fromMs) * 0.9) / frames;
          // A frame's work: from its animation-frame callback to a task posted from that callback.
          // Chromium runs the callbacks inside the frame's rendering task (style, layout, paint,
          // and the canvas's software raster when its layer is updated for the commit), so the
          // posted task runs once all of that has finished.
          const started: number[] = [];
          const channel = new MessageChannel();
          let finish: (() => void) | undefined;
          channel.port1.onmessage = (message: MessageEvent<number>) => {
            workMs[message.data] = performance.now() - started[message.data]!;
            if (message.data === frames - 1) finish?.();
          };
          let last = performance.now();
          let n = 0;
          const tick = (): void => {
            const now = performance.now();
            if (n > 0) frameMs.push(now - last);
            last = now;
            if (n >= frames) {
              modeRef.current = 'lod';
              const done = (): void => {
                channel.port1.close();
                resolve({ drawMs, frameMs, workMs, stats: lastStats.current });
              };
              if (workMs.length === frames) done();
              else finish = done;
              return;
            }
            started[n] = now;
            viewRef.current = { ...viewRef.current!, startMs: viewRef.current!.startMs + step };
            const t0 = performance.now();
            if (mode !== 'idle') draw();
            drawMs.push(performance.now() - t0);
            channel.port2.postMessage(n++);
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }),
    };
    return () => {
      delete window.tcplabTimeline;
    };
  }, [model, recording, onCursor, pastPaneText, draw]);

  // Pointer: drag pans; a click, or a drag along the axis, sets the cursor.
  const drag = useRef<{ x: number; moved: boolean; axis: boolean; pointer: number } | undefined>(undefined);
  const plotX = (event: { clientX: number }): number => event.clientX - (canvasRef.current?.getBoundingClientRect().left ?? 0) - GUTTER;
  const plotY = (event: { clientY: number }): number => event.clientY - (canvasRef.current?.getBoundingClientRect().top ?? 0);
  const cursorAt = (x: number): void => {
    const view = viewRef.current;
    if (view && x >= 0) onCursor(view.startMs + (x / view.width) * view.spanMs);
  };

  const onKeyDown = (event: React.KeyboardEvent): void => {
    const view = viewRef.current;
    if (!view) return;
    const handled = (): void => event.preventDefault();
    if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      const dir = event.key === 'ArrowLeft' ? -1 : 1;
      if (event.shiftKey) onCursor((cursor ?? view.startMs + view.spanMs / 2) + (dir * view.spanMs) / 100);
      else setView((v) => pan(v, dir * v.width * 0.1));
      handled();
    } else if (event.key === '+' || event.key === '=') {
      setView((v) => zoom(v, 1.5, cursor !== undefined ? ((cursor - v.startMs) / v.spanMs) * v.width : v.width / 2));
      handled();
    } else if (event.key === '-' || event.key === '_') {
      setView((v) => zoom(v, 1 / 1.5, v.width / 2));
      handled();
    } else if (event.key === 'Home') {
      fitAll();
      handled();
    } else if (event.key === 'Escape' && cursor !== undefined) {
      onCursor(undefined);
      handled();
    }
  };

  useEffect(() => {
    // React's onWheel is passive; zooming must keep the page from scrolling.
    const canvas = canvasRef.current;
    if (!canvas) return;
    const onWheel = (event: WheelEvent): void => {
      event.preventDefault();
      const x = plotX(event);
      if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
        setView((v) => pan(v, event.shiftKey ? event.deltaY : event.deltaX));
      } else {
        const scale = event.ctrlKey ? 0.01 : 0.002; // pinch reports small deltas with ctrl
        setView((v) => zoom(v, Math.exp(-event.deltaY * scale), Math.max(0, x)));
      }
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    return () => canvas.removeEventListener('wheel', onWheel);
  }, [setView, open]);

  const extent = model.extent();
  const offsets = [...model.offsets.entries()];
  const transitions = listed;

  return (
    <section
      className="mx-2 mb-2 flex shrink-0 flex-col overflow-hidden rounded-lg border border-slate-300 bg-white shadow-sm dark:border-slate-700 dark:bg-slate-900"
      aria-label="timeline"
      data-testid="timeline"
    >
      <header className="flex h-7 items-center gap-2 border-b border-slate-200 bg-slate-50 px-2 text-[12px] dark:border-slate-700 dark:bg-slate-800/70">
        <button
          type="button"
          aria-expanded={open}
          onClick={() => {
            localStorage.setItem(HEIGHT_KEY, open ? 'closed' : 'open');
            setOpen(!open);
          }}
          className="rounded px-1 font-semibold hover:bg-slate-200 dark:hover:bg-slate-700"
        >
          {open ? '▾' : '▸'} Timeline
        </button>
        <span className="text-slate-500 dark:text-slate-400" data-testid="timeline-offsets" title="Each host's clock offset from this computer's, estimated over SSH; host times are corrected by it to share one axis">
          {offsets.length ? `clock offsets: ${offsets.map(([h, o]) => `${h} ${o.offsetMs >= 0 ? '+' : '−'}${Math.abs(o.offsetMs).toFixed(3)} ms (rtt ${o.rttMs.toFixed(2)})`).join(' · ')}` : 'clock offsets: not measured yet'}
        </span>
        {cursor !== undefined && (
          <span className="ml-2 flex items-center gap-2 rounded bg-amber-100 px-2 py-0.5 font-medium text-amber-900 dark:bg-amber-900/60 dark:text-amber-100" data-testid="timeline-viewing" role="status">
            Viewing {timeOfDay(cursor, utcOffsetMin, 6)} — panes, sockets and diagram as they were then
            <button type="button" onClick={() => onCursor(undefined)} className="rounded bg-amber-600 px-2 text-white hover:bg-amber-700" data-testid="timeline-live">
              Back to live
            </button>
          </span>
        )}
        {open && (
          <div className="ml-auto flex items-center gap-1">
            <span className="mr-1 tabular-nums text-slate-500 dark:text-slate-400" data-testid="timeline-span">
              {spanText} in view · {recording.size.toLocaleString('en')} events
            </span>
            <button type="button" title="Zoom out (−)" aria-label="Zoom out" onClick={() => setView((v) => zoom(v, 1 / 1.5, v.width / 2))} className="rounded px-2 hover:bg-slate-200 dark:hover:bg-slate-700">
              −
            </button>
            <button type="button" title="Zoom in (+)" aria-label="Zoom in" data-testid="timeline-zoom-in" onClick={() => setView((v) => zoom(v, 1.5, v.width / 2))} className="rounded px-2 hover:bg-slate-200 dark:hover:bg-slate-700">
              +
            </button>
            <button type="button" title="Show the whole run (Home)" aria-label="Fit" onClick={fitAll} className="rounded px-2 hover:bg-slate-200 dark:hover:bg-slate-700">
              ⤢ Fit
            </button>
          </div>
        )}
      </header>
      {open && (
        <div ref={wrapRef} className="relative">
          <canvas
            ref={canvasRef}
            tabIndex={0}
            role="img"
            data-testid="timeline-canvas"
            aria-label={`Timeline of ${model.hosts.join(' and ')}${extent ? '' : ': nothing recorded yet'}. Drag to pan, wheel or +/- to zoom, click to view an instant.`}
            className="block cursor-crosshair outline-none focus-visible:ring-2 focus-visible:ring-sky-500"
            onKeyDown={onKeyDown}
            onPointerDown={(event) => {
              event.currentTarget.setPointerCapture(event.pointerId);
              drag.current = { x: event.clientX, moved: false, axis: plotY(event) < AXIS_H, pointer: event.pointerId };
              if (drag.current.axis) cursorAt(plotX(event));
            }}
            onPointerMove={(event) => {
              const d = drag.current;
              if (d) {
                if (Math.abs(event.clientX - d.x) > 2) d.moved = true;
                if (d.axis) cursorAt(plotX(event));
                else if (d.moved) {
                  const dx = d.x - event.clientX;
                  d.x = event.clientX;
                  setView((v) => pan(v, dx));
                }
                setHover(undefined);
                return;
              }
              const view = viewRef.current;
              const hit = view ? hitTest(model, lay, view, plotX(event), plotY(event)) : undefined;
              setHover(hit ? { hit, x: event.nativeEvent.offsetX, y: event.nativeEvent.offsetY } : undefined);
            }}
            onPointerUp={(event) => {
              const d = drag.current;
              drag.current = undefined;
              if (d && !d.moved && !d.axis) cursorAt(plotX(event));
            }}
            onPointerLeave={() => setHover(undefined)}
          />
          {hover && <HoverCard hover={hover} utcOffsetMin={utcOffsetMin} />}
          {extent === undefined && <p className="absolute inset-x-0 top-16 text-center text-[12px] text-slate-400">Nothing on the timeline yet: connect, or run an experiment.</p>}
          {/* For screen readers and tests: the transitions in order (the first 300). */}
          <ol className="sr-only" data-testid="timeline-transitions">
            {transitions.map((b, i) => (
              <li key={i} data-host={b.host} data-state={b.state} data-at={b.startMs}>
                {b.host} {b.state} at {timeOfDay(b.hostTimeUs / 1000, utcOffsetMin, 6)} (host clock)
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
});

function HoverCard({ hover, utcOffsetMin }: { hover: { hit: NonNullable<Hit>; x: number; y: number }; utcOffsetMin: number }) {
  const { hit } = hover;
  let lines: string[];
  if (hit.kind === 'band') {
    const b = hit.band;
    lines = [`${b.host} ${b.state}`, `from ${timeOfDay(b.hostTimeUs / 1000, utcOffsetMin, 6)} (${b.host}'s clock)`, b.conn.replace(' ', ' ↔ '), b.seen === 'trace' ? 'seen by the kernel tracepoint' : b.seen === 'poll' ? 'seen by polling ss' : 'inferred'];
    if (Number.isFinite(b.endMs) && b.endMs > b.startMs) lines.push(`lasted ${describeSpan(b.endMs - b.startMs)}`);
  } else if (hit.kind === 'packet') {
    const p = hit.packet;
    lines = [
      `(${p.number}) ${p.flags || 'no flags'}${p.length ? `, ${p.length} bytes` : ''}`,
      `${p.from} → ${p.to ?? '?'}  seq ${p.seq} ack ${p.ack}`,
      p.sentMs !== undefined ? `sent ${timeOfDay(p.sentMs, utcOffsetMin, 6)}` : 'not seen leaving',
      p.dropped ? `dropped by the ${p.dropped.where === 'sender' ? "sender's" : "receiver's"} firewall` : p.recvMs !== undefined ? `received ${timeOfDay(p.recvMs, utcOffsetMin, 6)}` : 'not seen arriving',
    ];
  } else {
    const m = hit.marker;
    lines = [`${m.host}: ${m.text}`, timeOfDay(m.atMs, utcOffsetMin, 6)];
  }
  return (
    <div
      className="pointer-events-none absolute z-10 max-w-md rounded-md border border-slate-300 bg-white px-2 py-1 font-mono text-[11px] shadow-lg dark:border-slate-600 dark:bg-slate-800"
      style={{ left: Math.min(hover.x + 12, (typeof window !== 'undefined' ? window.innerWidth : 1000) - 380), top: hover.y + 12 }}
      data-testid="timeline-hover"
    >
      {lines.map((line, i) => (
        <div key={i} className={i === 0 ? 'font-bold' : 'text-slate-600 dark:text-slate-300'}>
          {line}
        </div>
      ))}
    </div>
  );
}

export function describeSpan(ms: number): string {
  if (ms >= 120_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s`;
  if (ms >= 1) return `${ms.toFixed(ms >= 10 ? 0 : 1)} ms`;
  return `${(ms * 1000).toFixed(ms >= 0.01 ? 0 : 1)} µs`;
}
