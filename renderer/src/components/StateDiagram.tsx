/**
 * The TCP state diagram (the article's Figure 2) with each host's current state ringed in the
 * host's color and the path its connection took so far drawn along the diagram's edges (dashed
 * where the observations skipped states). The geometry is shared/src/state-diagram.ts, the same
 * one exported figures use; here it is drawn as React SVG elements.
 *
 * Each host's path is state/shown.ts's, the source the socket table reads too: the reported
 * transitions, with what a newer snapshot shows that they do not have yet.
 *
 * For tests and screen readers: each host's mark is `data-testid="diagram-host-<label>"` with
 * `data-state` (the TCP state) and `data-node`; the figure's aria-label says where each host is.
 */
import { memo, useMemo, useRef, useState } from 'react';
import {
  DIAGRAM,
  diagramNode,
  diagramPalette,
  HOST_OFFSETS,
  hostColor,
  hostNodes,
  jumpD,
  offsetPolyline,
  polylineD,
  type DiagramPalette,
} from '../../../shared/src/state-diagram';
import type { TcpState } from '../../../shared/src/tcp-states';
import { hostPaths, isCarried } from '../state/shown';
import type { HostView } from '../state/workspace';

export interface StateDiagramProps {
  hosts: Record<string, HostView>;
  labels: readonly string[];
  dark: boolean;
}

function Arrowheads({ palette }: { palette: DiagramPalette }) {
  return (
    <defs>
      {Object.entries(palette.edge).map(([path, color]) => (
        <marker key={path} id={`sd-arrow-${path}`} viewBox="0 0 8 8" refX="7.5" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse" markerUnits="userSpaceOnUse">
          <path d="M0 0 L8 4 L0 8 z" fill={color} />
        </marker>
      ))}
    </defs>
  );
}

export const StateDiagramSvg = memo(function StateDiagramSvg({ paths, dark, className, testIdPrefix = '' }: { paths: Record<string, TcpState[]>; dark: boolean; className?: string; testIdPrefix?: string }) {
  const palette = diagramPalette(dark ? 'dark' : 'light');
  const placed = useMemo(() => hostNodes({ paths }), [paths]);
  const description = placed.length ? placed.map((p) => `${p.host} in ${diagramNode(p.node).state}`).join(', ') : 'no connection observed yet';
  const slots = new Map<string, number>();
  return (
    <svg
      viewBox={`0 0 ${DIAGRAM.width} ${DIAGRAM.height}`}
      className={className}
      role="img"
      aria-label={`TCP state diagram: ${description}`}
      fontFamily="Inter Variable, ui-sans-serif, system-ui, sans-serif"
      data-testid={`${testIdPrefix}state-diagram`}
    >
      <Arrowheads palette={palette} />
      {DIAGRAM.edges.map((edge) => (
        <g key={edge.id} data-edge={edge.id}>
          <title>{`${edge.from.replace('_END', '')} → ${edge.to.replace('_END', '')}: ${edge.label}`}</title>
          <path d={polylineD(edge.points)} fill="none" stroke={palette.edge[edge.path]} strokeWidth={1.3} markerEnd={`url(#sd-arrow-${edge.path})`} />
          <text x={edge.labelAt.x} y={edge.labelAt.y} textAnchor={edge.labelAnchor} fontSize={8.5} fill={palette.edge[edge.path]}>
            {edge.label}
          </text>
        </g>
      ))}
      {placed.map(({ host, traced }, index) =>
        traced?.steps.map((step, i) => {
          const color = hostColor(palette, host, index);
          const offset = HOST_OFFSETS[index % HOST_OFFSETS.length]!;
          return step.edge ? (
            <path
              key={`${host}-${i}`}
              data-path-host={host}
              data-path-edge={step.edge.id}
              d={polylineD(offsetPolyline(step.edge.points, offset))}
              fill="none"
              stroke={color}
              strokeWidth={3.5}
              strokeOpacity={0.75}
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          ) : (
            <path
              key={`${host}-${i}`}
              data-path-host={host}
              data-jump={`${step.from}->${step.to}`}
              d={jumpD(diagramNode(step.from), diagramNode(step.to), 18 + offset * 3)}
              fill="none"
              stroke={color}
              strokeWidth={2.5}
              strokeDasharray="5 4"
              strokeOpacity={0.85}
            >
              <title>{`${host} went from ${diagramNode(step.from).state} to ${diagramNode(step.to).state} without the states in between being observed`}</title>
            </path>
          );
        }),
      )}
      {DIAGRAM.nodes.map((n) => (
        <g key={n.id} data-node={n.id}>
          <rect
            x={n.x - n.width / 2}
            y={n.y - n.height / 2}
            width={n.width}
            height={n.height}
            rx={n.height / 2}
            fill={palette.nodeFill}
            stroke={n.path === 'open' ? palette.nodeStroke : palette.edge[n.path]}
            strokeWidth={1.5}
          />
          <text x={n.x} y={n.y + 4} textAnchor="middle" fontSize={10.5} fontWeight={700} fill={palette.text}>
            {n.state}
          </text>
        </g>
      ))}
      {placed.map(({ host, node: id }, index) => {
        const n = diagramNode(id);
        const color = hostColor(palette, host, index);
        const slot = slots.get(id) ?? 0;
        slots.set(id, slot + 1);
        const grow = 3 + slot * 3;
        const tagX = index % 2 === 0 ? n.x - n.width / 2 - grow - 22 : n.x + n.width / 2 + grow + 2;
        return (
          <g key={host} data-testid={`${testIdPrefix}diagram-host-${host}`} data-state={n.state} data-node={n.id}>
            <rect
              x={n.x - n.width / 2 - grow}
              y={n.y - n.height / 2 - grow}
              width={n.width + 2 * grow}
              height={n.height + 2 * grow}
              rx={n.height / 2 + grow}
              fill="none"
              stroke={color}
              strokeWidth={2.5}
            />
            <rect x={tagX} y={n.y - 8} width={20} height={16} rx={3} fill={color} />
            <text x={tagX + 10} y={n.y + 4} textAnchor="middle" fontSize={9.5} fontWeight={700} fill={palette.background}>
              {host}
            </text>
          </g>
        );
      })}
    </svg>
  );
});

/**
 * The same object while the paths read the same: the hosts change with every snapshot (several a
 * second), the paths only when a state does, and the SVG is redrawn only then.
 */
function useSamePaths(paths: Record<string, TcpState[]>): Record<string, TcpState[]> {
  const kept = useRef(paths);
  if (!samePaths(kept.current, paths)) kept.current = paths;
  return kept.current;
}

function samePaths(a: Record<string, TcpState[]>, b: Record<string, TcpState[]>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    const x = a[key]!;
    const y = b[key];
    return y !== undefined && x.length === y.length && x.every((state, i) => state === y[i]);
  });
}

/** The workspace's diagram panel: compact in the side column, enlarged on request (projectors). */
export function StateDiagram({ hosts, labels, dark }: StateDiagramProps) {
  const paths = useSamePaths(useMemo(() => hostPaths(hosts, labels), [hosts, labels]));
  const [large, setLarge] = useState(false);
  const palette = diagramPalette(dark ? 'dark' : 'light');
  // In the enlarged view (projectors) the legend is read from the back of the room too.
  const legend = (large: boolean) => (
    <div className={`flex flex-wrap items-center gap-x-3 gap-y-0.5 ${large ? 'mt-2 text-[17px]' : 'text-[11px]'}`}>
      {labels.map((label, index) => {
        const states = paths[label];
        // Across a reconnect the state is the one last seen (shown.ts observedHost): in italics, same width.
        const carried = hosts[label] !== undefined && isCarried(hosts[label]);
        return (
          <span key={label} className="flex items-center gap-1" data-testid={`diagram-legend-${label}`} data-carried={carried} title={carried ? 'Last seen before reconnecting' : undefined}>
            <span className={`inline-block rounded-sm ${large ? 'h-4 w-4' : 'h-2.5 w-2.5'}`} style={{ background: hostColor(palette, label, index) }} />
            <b>{label}</b>
            <span className={`font-mono text-slate-600 dark:text-slate-300 ${carried ? 'italic opacity-70' : ''}`}>{states ? states[states.length - 1] : '—'}</span>
          </span>
        );
      })}
      <span className="ml-auto flex items-center gap-2 text-slate-500 dark:text-slate-400">
        <span style={{ color: palette.edge.active }}>■ active close</span>
        <span style={{ color: palette.edge.passive }}>■ passive close</span>
      </span>
    </div>
  );
  return (
    <section className="flex min-h-0 flex-col overflow-hidden rounded-lg border border-slate-300 bg-white px-2 pt-1 pb-1.5 shadow-sm dark:border-slate-700 dark:bg-slate-900" aria-label="TCP state diagram">
      <div className="flex items-center gap-2 text-[10.5px] font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
        <span>TCP states</span>
        <button
          type="button"
          onClick={() => setLarge(true)}
          title="Show the diagram large (projectors)"
          data-testid="diagram-enlarge"
          className="ml-auto rounded px-1.5 py-0.5 font-normal normal-case tracking-normal hover:bg-slate-100 dark:hover:bg-slate-800"
        >
          ⤢ Enlarge
        </button>
      </div>
      {/* Shrinks (drawn smaller, centred) when the column is short, so the experiment panel keeps its room. */}
      <StateDiagramSvg paths={paths} dark={dark} className="h-auto min-h-0 w-full flex-1" />
      {legend(false)}
      {large && (
        <div
          className="fixed inset-0 z-20 flex items-center justify-center bg-slate-900/60 p-6"
          role="dialog"
          aria-label="TCP state diagram, large"
          onClick={() => setLarge(false)}
          onKeyDown={(e) => e.key === 'Escape' && setLarge(false)}
        >
          <div className="flex h-full max-h-full w-full max-w-[1100px] flex-col rounded-xl bg-white p-4 shadow-2xl dark:bg-slate-900" onClick={(e) => e.stopPropagation()}>
            <div className="mb-2 flex items-center">
              <h2 className="text-[15px] font-bold">TCP states (the article's Figure 2)</h2>
              <button type="button" autoFocus onClick={() => setLarge(false)} className="ml-auto rounded px-2 py-1 text-sm hover:bg-slate-100 dark:hover:bg-slate-800">
                Close
              </button>
            </div>
            <div className="min-h-0 flex-1">
              <StateDiagramSvg paths={paths} dark={dark} className="h-full w-full" testIdPrefix="large-" />
            </div>
            {legend(true)}
          </div>
        </div>
      )}
    </section>
  );
}
