/**
 * The TCP state diagram (the article's Figure 2, laid out like RFC 793's): geometry, the path a
 * connection took through it, and a standalone SVG rendering. Pure TypeScript: the app's React
 * component (renderer/src/components/StateDiagram.tsx) draws the same geometry as React
 * elements, and exported figures use `renderStateDiagramSvg` as it is.
 *
 * Stable API (other modules build on it; extend, do not change):
 * - `DIAGRAM`: `{ width, height, nodes, edges }` in SVG user units (origin top left).
 *   - a node is `{ id, state, x, y, width, height, path }` centred at (x, y). Every TCP state
 *     has exactly one node, except CLOSED, drawn twice as in RFC 793: `CLOSED` at the top
 *     (before a connection) and `CLOSED_END` at the bottom right (after a teardown).
 *   - an edge is `{ id, from, to, label, path, points, labelAt, labelAnchor }` between node ids;
 *     `points` is the polyline (first point on the `from` node's border, last on `to`'s, where
 *     the arrowhead goes); `label` is the article's event / action, e.g. "close / FIN".
 * - `path` of nodes and edges: 'open' (setup), 'active' (active close: the side that sends the
 *   first FIN; purple in the article) or 'passive' (passive close; orange in the article).
 * - `traceStates(states)`: a host's observed states in order -> the steps through the diagram:
 *   each step is an edge when the diagram has one, else a `jump` (observations that skip
 *   states, e.g. the kernel tracepoint going FIN_WAIT2 -> CLOSED without TIME_WAIT). Repeated
 *   states are one state. `current` is the node the host is in now.
 * - `connectionStates(transitions)`: from a host's reconciled transitions (several
 *   connections), the states of the one to draw: the latest connection that is not a listener,
 *   led in from CLOSED (and LISTEN for an accepted connection) so the path starts at the top.
 * - `renderStateDiagramSvg(options)`: the whole diagram as standalone SVG text (no external
 *   fonts or styles); `highlight` marks each host's current state, `paths` draws each host's
 *   path so far in that host's color (`HOST_COLORS`).
 * - `diagramPalette(theme)`: the colors both renderings use.
 */
import type { TcpState } from './tcp-states';

export type DiagramPath = 'open' | 'active' | 'passive';
export type DiagramTheme = 'light' | 'dark';
export type NodeId = TcpState | 'CLOSED_END';

export interface Point {
  x: number;
  y: number;
}

export interface DiagramNode {
  id: NodeId;
  state: TcpState;
  /** Centre. */
  x: number;
  y: number;
  width: number;
  height: number;
  path: DiagramPath;
}

export interface DiagramEdge {
  id: string;
  from: NodeId;
  to: NodeId;
  /** Event / action, as the article and RFC 793 write them. */
  label: string;
  path: DiagramPath;
  points: Point[];
  labelAt: Point;
  labelAnchor: 'start' | 'middle' | 'end';
}

export interface Diagram {
  width: number;
  height: number;
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

const NODE_W = 88;
const NODE_H = 22;
const HALF_H = NODE_H / 2;
// Columns and rows of the grid the states sit on.
const LEFT = 90;
const MID = 246;
const RIGHT = 402;
const ROW = [36, 94, 152, 210, 276, 346, 406] as const;

function node(id: NodeId, x: number, y: number, path: DiagramPath = 'open'): DiagramNode {
  const state: TcpState = id === 'CLOSED_END' ? 'CLOSED' : id;
  return { id, state, x, y, width: NODE_W, height: NODE_H, path };
}

const [Y0, Y1, Y2, Y3, Y4, Y5, Y6] = ROW;

const NODES: DiagramNode[] = [
  node('CLOSED', MID, Y0),
  node('LISTEN', MID, Y1),
  node('SYN_RECV', LEFT, Y2),
  node('SYN_SENT', RIGHT, Y2),
  node('ESTABLISHED', MID, Y3),
  node('FIN_WAIT1', LEFT, Y4, 'active'),
  node('CLOSING', MID, Y4, 'active'),
  node('CLOSE_WAIT', RIGHT, Y4, 'passive'),
  node('FIN_WAIT2', LEFT, Y5, 'active'),
  node('TIME_WAIT', MID, Y5, 'active'),
  node('LAST_ACK', RIGHT, Y5, 'passive'),
  node('CLOSED_END', RIGHT, Y6),
];

type EdgeSpec = [from: NodeId, to: NodeId, label: string, path: DiagramPath, points: Array<[number, number]>, labelAt: [number, number], anchor: DiagramEdge['labelAnchor']];

const top = (y: number): number => y - HALF_H;
const bottom = (y: number): number => y + HALF_H;
const leftOf = (x: number): number => x - NODE_W / 2;
const rightOf = (x: number): number => x + NODE_W / 2;

const EDGE_SPECS: EdgeSpec[] = [
  // Opening (RFC 793's upper half).
  ['CLOSED', 'LISTEN', 'listen', 'open', [[MID + 8, bottom(Y0)], [MID + 8, top(Y1)]], [MID + 13, (Y0 + Y1) / 2 + 3], 'start'],
  ['LISTEN', 'CLOSED', 'close', 'open', [[MID - 8, top(Y1)], [MID - 8, bottom(Y0)]], [MID - 13, (Y0 + Y1) / 2 + 3], 'end'],
  ['CLOSED', 'SYN_SENT', 'connect / SYN', 'open', [[rightOf(MID), Y0], [RIGHT - 6, Y0], [RIGHT - 6, top(Y2)]], [(rightOf(MID) + RIGHT) / 2, Y0 - 4], 'middle'],
  ['SYN_SENT', 'CLOSED', 'close / timeout', 'open', [[RIGHT + 24, top(Y2)], [RIGHT + 24, Y0 - 20], [MID + 24, Y0 - 20], [MID + 24, top(Y0)]], [(MID + RIGHT) / 2 + 24, Y0 - 24], 'middle'],
  ['LISTEN', 'SYN_SENT', 'send / SYN', 'open', [[rightOf(MID), Y1], [RIGHT - 30, Y1], [RIGHT - 30, top(Y2)]], [(rightOf(MID) + RIGHT - 30) / 2, Y1 - 4], 'middle'],
  ['LISTEN', 'SYN_RECV', 'rcv SYN / SYN+ACK', 'open', [[leftOf(MID), Y1], [LEFT, Y1], [LEFT, top(Y2)]], [(leftOf(MID) + LEFT) / 2, Y1 - 4], 'middle'],
  ['SYN_RECV', 'LISTEN', 'rcv RST', 'open', [[LEFT + 32, top(Y2)], [LEFT + 32, bottom(Y1) + 8], [MID - 24, bottom(Y1) + 8], [MID - 24, bottom(Y1)]], [LEFT + 36, bottom(Y1) + 22], 'start'],
  ['SYN_SENT', 'SYN_RECV', 'rcv SYN / SYN+ACK', 'open', [[leftOf(RIGHT), Y2], [rightOf(LEFT), Y2]], [MID, Y2 - 4], 'middle'],
  ['SYN_RECV', 'ESTABLISHED', 'rcv ACK', 'open', [[LEFT + 32, bottom(Y2)], [MID - 40, top(Y3)]], [LEFT + 50, (Y2 + Y3) / 2 + 12], 'end'],
  ['SYN_SENT', 'ESTABLISHED', 'rcv SYN+ACK / ACK', 'open', [[RIGHT - 32, bottom(Y2)], [MID + 40, top(Y3)]], [RIGHT - 50, (Y2 + Y3) / 2 + 12], 'start'],
  ['SYN_RECV', 'FIN_WAIT1', 'close / FIN', 'active', [[LEFT - 28, bottom(Y2)], [LEFT - 28, top(Y4)]], [LEFT - 24, (Y2 + Y4) / 2 + 14], 'start'],
  // Teardown: the active close path (left) and the passive close path (right).
  ['ESTABLISHED', 'FIN_WAIT1', 'close / FIN', 'active', [[MID - 40, bottom(Y3)], [LEFT + 32, top(Y4)]], [(MID + LEFT) / 2 - 18, (Y3 + Y4) / 2 - 2], 'end'],
  ['ESTABLISHED', 'CLOSE_WAIT', 'rcv FIN / ACK', 'passive', [[MID + 40, bottom(Y3)], [RIGHT - 32, top(Y4)]], [(MID + RIGHT) / 2 + 18, (Y3 + Y4) / 2 - 2], 'start'],
  ['FIN_WAIT1', 'FIN_WAIT2', 'rcv ACK', 'active', [[LEFT, bottom(Y4)], [LEFT, top(Y5)]], [LEFT + 5, (Y4 + Y5) / 2 - 2], 'start'],
  ['FIN_WAIT1', 'CLOSING', 'rcv FIN / ACK', 'active', [[rightOf(LEFT), Y4], [leftOf(MID), Y4]], [(rightOf(LEFT) + leftOf(MID)) / 2, Y4 - 5], 'middle'],
  ['FIN_WAIT1', 'TIME_WAIT', 'rcv FIN+ACK / ACK', 'active', [[LEFT + 28, bottom(Y4)], [MID - 30, top(Y5)]], [MID - 52, (Y4 + Y5) / 2 + 4], 'start'],
  ['FIN_WAIT2', 'TIME_WAIT', 'rcv FIN / ACK', 'active', [[rightOf(LEFT), Y5], [leftOf(MID), Y5]], [(rightOf(LEFT) + leftOf(MID)) / 2, Y5 + 14], 'middle'],
  ['CLOSING', 'TIME_WAIT', 'rcv ACK', 'active', [[MID + 34, bottom(Y4)], [MID + 34, top(Y5)]], [MID + 39, (Y4 + Y5) / 2 + 3], 'start'],
  ['TIME_WAIT', 'CLOSED_END', '2MSL timeout', 'active', [[MID, bottom(Y5)], [MID, Y6], [leftOf(RIGHT), Y6]], [(MID + leftOf(RIGHT)) / 2 - 14, Y6 - 5], 'middle'],
  ['CLOSE_WAIT', 'LAST_ACK', 'close / FIN', 'passive', [[RIGHT, bottom(Y4)], [RIGHT, top(Y5)]], [RIGHT + 5, (Y4 + Y5) / 2 + 3], 'start'],
  ['LAST_ACK', 'CLOSED_END', 'rcv ACK', 'passive', [[RIGHT, bottom(Y5)], [RIGHT, top(Y6)]], [RIGHT + 5, (Y5 + Y6) / 2 + 3], 'start'],
];

const EDGES: DiagramEdge[] = EDGE_SPECS.map(([from, to, label, path, points, labelAt, labelAnchor]) => ({
  id: `${from}->${to}`,
  from,
  to,
  label,
  path,
  points: points.map(([x, y]) => ({ x, y })),
  labelAt: { x: labelAt[0], y: labelAt[1] },
  labelAnchor,
}));

export const DIAGRAM: Diagram = { width: 492, height: 426, nodes: NODES, edges: EDGES };

export function diagramNode(id: NodeId): DiagramNode {
  const found = NODES.find((n) => n.id === id);
  if (!found) throw new Error(`no diagram node ${id}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Paths

export interface PathStep {
  from: NodeId;
  to: NodeId;
  /** The diagram's edge for this step; absent for a jump. */
  edge?: DiagramEdge;
  /** The observations went from `from` to `to` without the states in between. */
  jump: boolean;
}

export interface TracedPath {
  steps: PathStep[];
  /** Where the host is now (undefined for no states). */
  current?: NodeId;
}

/** Which CLOSED a state reached without an edge lands in: before a connection, or after one. */
function closedAfter(previous: NodeId): NodeId {
  return previous === 'CLOSED' || previous === 'LISTEN' || previous === 'SYN_SENT' || previous === 'SYN_RECV' ? 'CLOSED' : 'CLOSED_END';
}

export function traceStates(states: readonly TcpState[]): TracedPath {
  const steps: PathStep[] = [];
  let current: NodeId | undefined;
  for (const state of states) {
    if (current === undefined) {
      current = state;
      continue;
    }
    const here: NodeId = current;
    if (diagramNode(here).state === state) continue;
    const edge = EDGES.find((e) => e.from === here && diagramNode(e.to).state === state);
    const to: NodeId = edge ? edge.to : state === 'CLOSED' ? closedAfter(here) : state;
    steps.push(edge ? { from: here, to, edge, jump: false } : { from: here, to, jump: true });
    current = to;
  }
  return current === undefined ? { steps } : { steps, current };
}

/** A reconciled transition as the workspace keeps it (shared/src/events.ts, type 'transition'). */
export interface ObservedTransition {
  local: string;
  remote: string;
  state: TcpState;
}

const isListener = (t: ObservedTransition): boolean => t.remote.endsWith(':*');

/**
 * The states to draw for one host: those of its latest connection (a listener only when there
 * is no connection), led in from where the socket came from: an accepted connection
 * (SYN_RECV first) from CLOSED via LISTEN, an active open (SYN_SENT first) from CLOSED.
 */
export function connectionStates(transitions: readonly ObservedTransition[]): TcpState[] {
  const latest = [...transitions].reverse().find((t) => !isListener(t)) ?? transitions[transitions.length - 1];
  if (!latest) return [];
  const states = transitions.filter((t) => t.local === latest.local && t.remote === latest.remote).map((t) => t.state);
  const first = states[0];
  if (first === 'SYN_RECV') return ['CLOSED', 'LISTEN', ...states];
  if (first === 'SYN_SENT' || first === 'LISTEN') return ['CLOSED', ...states];
  return states;
}

// ---------------------------------------------------------------------------------------------
// Colors and drawing helpers (shared by the SVG text and the React component)

export interface DiagramPalette {
  background: string;
  text: string;
  muted: string;
  nodeFill: string;
  nodeStroke: string;
  edge: Record<DiagramPath, string>;
  host: Record<string, string>;
}

const PALETTES: Record<DiagramTheme, DiagramPalette> = {
  light: {
    background: '#ffffff',
    text: '#0f172a',
    muted: '#475569',
    nodeFill: '#f8fafc',
    nodeStroke: '#94a3b8',
    edge: { open: '#64748b', active: '#7c3aed', passive: '#ea580c' },
    host: { H1: '#0369a1', H2: '#047857' },
  },
  dark: {
    background: '#0f172a',
    text: '#e2e8f0',
    muted: '#94a3b8',
    nodeFill: '#1e293b',
    nodeStroke: '#64748b',
    edge: { open: '#94a3b8', active: '#a78bfa', passive: '#fb923c' },
    host: { H1: '#38bdf8', H2: '#34d399' },
  },
};

/** Host colors for hosts beyond H1 and H2 (a log may name others). */
const EXTRA_HOST_COLORS = ['#be185d', '#a16207', '#4338ca'];

export function diagramPalette(theme: DiagramTheme): DiagramPalette {
  return PALETTES[theme];
}

export function hostColor(palette: DiagramPalette, host: string, index: number): string {
  return palette.host[host] ?? EXTRA_HOST_COLORS[index % EXTRA_HOST_COLORS.length]!;
}

/** `M x y L x y ...` for a polyline. */
export function polylineD(points: readonly Point[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(p.x)} ${round(p.y)}`).join(' ');
}

/** The polyline moved sideways by `distance` (positive: to the right of the direction of travel). */
export function offsetPolyline(points: readonly Point[], distance: number): Point[] {
  if (distance === 0 || points.length < 2) return points.map((p) => ({ ...p }));
  const normals = points.slice(1).map((p, i) => {
    const q = points[i]!;
    const length = Math.hypot(p.x - q.x, p.y - q.y) || 1;
    return { x: -(p.y - q.y) / length, y: (p.x - q.x) / length };
  });
  return points.map((p, i) => {
    const a = normals[Math.max(0, i - 1)]!;
    const b = normals[Math.min(normals.length - 1, i)]!;
    let nx = a.x + b.x;
    let ny = a.y + b.y;
    const length = Math.hypot(nx, ny) || 1;
    nx /= length;
    ny /= length;
    // At a corner the offset lines meet further out: scale by 1 / cos(half the turn).
    const cos = Math.max(0.5, nx * b.x + ny * b.y);
    return { x: p.x - (nx * distance) / cos, y: p.y - (ny * distance) / cos };
  });
}

/** Where a line from the node's centre towards `toward` leaves the node's box. */
export function borderPoint(n: DiagramNode, toward: Point): Point {
  const dx = toward.x - n.x;
  const dy = toward.y - n.y;
  if (dx === 0 && dy === 0) return { x: n.x, y: n.y };
  const scale = 1 / Math.max(Math.abs(dx) / (n.width / 2), Math.abs(dy) / (n.height / 2));
  return { x: n.x + dx * scale, y: n.y + dy * scale };
}

/** A jump's curve between two nodes (a quadratic Bézier bowed to one side), as SVG path data. */
export function jumpD(from: DiagramNode, to: DiagramNode, bow: number): string {
  const start = borderPoint(from, to);
  const end = borderPoint(to, from);
  const mx = (start.x + end.x) / 2;
  const my = (start.y + end.y) / 2;
  const length = Math.hypot(end.x - start.x, end.y - start.y) || 1;
  const cx = mx + (-(end.y - start.y) / length) * bow;
  const cy = my + ((end.x - start.x) / length) * bow;
  return `M${round(start.x)} ${round(start.y)} Q${round(cx)} ${round(cy)} ${round(end.x)} ${round(end.y)}`;
}

/** The state's name as drawn (the article's spelling). */
export function nodeText(n: DiagramNode): string {
  return n.state;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

// ---------------------------------------------------------------------------------------------
// Standalone SVG

export interface StateDiagramSvgOptions {
  /** Each host's current state, e.g. `{ H1: 'FIN_WAIT1', H2: 'ESTABLISHED' }`. */
  highlight?: Record<string, TcpState>;
  /** Each host's states so far, in order (drawn along the diagram's edges; skips as jumps). */
  paths?: Record<string, readonly TcpState[]>;
  theme: DiagramTheme;
  /** Drawn above the diagram when given. */
  title?: string;
  /** Draw the edges' event / action labels (default true). */
  edgeLabels?: boolean;
  /** Font family for the text (default a system sans-serif stack). */
  fontFamily?: string;
}

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** How the hosts' marks are placed on a node: side tags, paths offset sideways. */
export const HOST_OFFSETS = [-3, 3, -6, 6];

/**
 * Where each host is: its highlighted node. With a path, the node the path ends in (so CLOSED
 * after a teardown is the bottom CLOSED); else the state's first node.
 */
export function hostNodes(options: Pick<StateDiagramSvgOptions, 'highlight' | 'paths'>): Array<{ host: string; node: NodeId; traced?: TracedPath }> {
  const hosts = [...new Set([...Object.keys(options.highlight ?? {}), ...Object.keys(options.paths ?? {})])];
  return hosts.flatMap((host) => {
    const states = options.paths?.[host];
    const traced = states ? traceStates(states) : undefined;
    const highlighted = options.highlight?.[host];
    let at: NodeId | undefined;
    if (highlighted && traced?.current && diagramNode(traced.current).state === highlighted) at = traced.current;
    else at = highlighted ?? traced?.current;
    return at === undefined ? [] : [{ host, node: at, ...(traced ? { traced } : {}) }];
  });
}

export function renderStateDiagramSvg(options: StateDiagramSvgOptions): string {
  const palette = diagramPalette(options.theme);
  const font = options.fontFamily ?? 'DejaVu Sans, Helvetica, Arial, sans-serif';
  const titleHeight = options.title ? 28 : 0;
  const { width, height } = DIAGRAM;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + titleHeight}" viewBox="0 ${-titleHeight} ${width} ${height + titleHeight}" font-family="${escapeXml(font)}">`,
  );
  out.push(`<rect x="0" y="${-titleHeight}" width="${width}" height="${height + titleHeight}" fill="${palette.background}"/>`);
  out.push('<defs>');
  const markers = new Map<string, string>();
  const marker = (color: string): string => {
    let id = markers.get(color);
    if (!id) {
      id = `arrow${markers.size}`;
      markers.set(color, id);
      out.push(`<marker id="${id}" viewBox="0 0 8 8" refX="7.5" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse" markerUnits="userSpaceOnUse"><path d="M0 0 L8 4 L0 8 z" fill="${color}"/></marker>`);
    }
    return id;
  };
  for (const color of Object.values(palette.edge)) marker(color);
  out.push('</defs>');
  if (options.title) out.push(`<text x="${width / 2}" y="${-10}" text-anchor="middle" font-size="13" font-weight="700" fill="${palette.text}">${escapeXml(options.title)}</text>`);

  for (const edge of DIAGRAM.edges) {
    const color = palette.edge[edge.path];
    out.push(`<path data-edge="${escapeXml(edge.id)}" d="${polylineD(edge.points)}" fill="none" stroke="${color}" stroke-width="1.3" marker-end="url(#${marker(color)})"/>`);
    if (options.edgeLabels !== false) {
      out.push(`<text x="${edge.labelAt.x}" y="${edge.labelAt.y}" text-anchor="${edge.labelAnchor}" font-size="8.5" fill="${color}">${escapeXml(edge.label)}</text>`);
    }
  }

  const placed = hostNodes(options);
  placed.forEach(({ host, traced }, index) => {
    if (!traced) return;
    const color = hostColor(palette, host, index);
    const offset = HOST_OFFSETS[index % HOST_OFFSETS.length]!;
    for (const step of traced.steps) {
      if (step.edge) {
        out.push(`<path data-path-host="${escapeXml(host)}" data-path-edge="${escapeXml(step.edge.id)}" d="${polylineD(offsetPolyline(step.edge.points, offset))}" fill="none" stroke="${color}" stroke-width="3.5" stroke-opacity="0.75" stroke-linecap="round" stroke-linejoin="round"/>`);
      } else {
        out.push(`<path data-path-host="${escapeXml(host)}" data-jump="${step.from}->${step.to}" d="${jumpD(diagramNode(step.from), diagramNode(step.to), 18 + offset * 3)}" fill="none" stroke="${color}" stroke-width="2.5" stroke-dasharray="5 4" stroke-opacity="0.85"/>`);
      }
    }
  });

  for (const n of DIAGRAM.nodes) {
    const stroke = n.path === 'open' ? palette.nodeStroke : palette.edge[n.path];
    out.push(
      `<g data-node="${n.id}"><rect x="${n.x - n.width / 2}" y="${n.y - n.height / 2}" width="${n.width}" height="${n.height}" rx="${n.height / 2}" fill="${palette.nodeFill}" stroke="${stroke}" stroke-width="1.5"/>` +
        `<text x="${n.x}" y="${n.y + 4}" text-anchor="middle" font-size="10.5" font-weight="700" fill="${palette.text}">${nodeText(n)}</text></g>`,
    );
  }

  // Each host's mark: a ring in its color and a tag with its label, one side per host.
  const atNode = new Map<NodeId, number>();
  placed.forEach(({ host, node: id }, index) => {
    const n = diagramNode(id);
    const color = hostColor(palette, host, index);
    const slot = atNode.get(id) ?? 0;
    atNode.set(id, slot + 1);
    const grow = 3 + slot * 3;
    out.push(
      `<rect data-highlight-host="${escapeXml(host)}" data-state="${n.state}" x="${n.x - n.width / 2 - grow}" y="${n.y - n.height / 2 - grow}" width="${n.width + 2 * grow}" height="${n.height + 2 * grow}" rx="${n.height / 2 + grow}" fill="none" stroke="${color}" stroke-width="2.5"/>`,
    );
    const tagX = index % 2 === 0 ? n.x - n.width / 2 - grow - 22 : n.x + n.width / 2 + grow + 2;
    out.push(
      `<g data-tag-host="${escapeXml(host)}"><rect x="${tagX}" y="${n.y - 8}" width="20" height="16" rx="3" fill="${color}"/><text x="${tagX + 10}" y="${n.y + 4}" text-anchor="middle" font-size="9.5" font-weight="700" fill="${palette.background}">${escapeXml(host)}</text></g>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
