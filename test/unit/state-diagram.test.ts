import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import {
  connectionStates,
  DIAGRAM,
  diagramNode,
  hostNodes,
  offsetPolyline,
  renderStateDiagramSvg,
  traceStates,
  type DiagramNode,
  type Point,
} from '../../shared/src/state-diagram';
import { TCP_STATES, type TcpState } from '../../shared/src/tcp-states';

const onBorder = (n: DiagramNode, p: Point): boolean => {
  const dx = Math.abs(p.x - n.x);
  const dy = Math.abs(p.y - n.y);
  const inside = dx <= n.width / 2 + 0.01 && dy <= n.height / 2 + 0.01;
  return inside && (Math.abs(dx - n.width / 2) < 0.01 || Math.abs(dy - n.height / 2) < 0.01);
};

/** An edge label's box, estimating the text's width (8.5 px sans-serif: ~0.56 em per character). */
function labelBox(label: string, at: Point, anchor: 'start' | 'middle' | 'end') {
  const width = label.length * 8.5 * 0.56;
  const left = anchor === 'start' ? at.x : anchor === 'middle' ? at.x - width / 2 : at.x - width;
  return { left, right: left + width, top: at.y - 7, bottom: at.y + 2 };
}

describe('the state diagram geometry', () => {
  it('has every TCP state as a node, and only CLOSED twice (before and after a connection, as in RFC 793)', () => {
    const states = DIAGRAM.nodes.map((n) => n.state);
    for (const state of TCP_STATES) expect(states, state).toContain(state);
    expect(states.filter((s) => s === 'CLOSED')).toHaveLength(2);
    expect(new Set(DIAGRAM.nodes.map((n) => n.id)).size).toBe(DIAGRAM.nodes.length);
    expect(DIAGRAM.nodes).toHaveLength(TCP_STATES.length + 1);
  });

  it('keeps nodes inside the canvas and apart from each other', () => {
    for (const n of DIAGRAM.nodes) {
      expect(n.x - n.width / 2, n.id).toBeGreaterThanOrEqual(24); // room for a host tag on the left
      expect(n.x + n.width / 2, n.id).toBeLessThanOrEqual(DIAGRAM.width - 24);
      expect(n.y - n.height / 2, n.id).toBeGreaterThanOrEqual(0);
      expect(n.y + n.height / 2, n.id).toBeLessThanOrEqual(DIAGRAM.height);
      for (const m of DIAGRAM.nodes) {
        if (m === n) continue;
        const apart = Math.abs(m.x - n.x) >= (m.width + n.width) / 2 + 20 || Math.abs(m.y - n.y) >= (m.height + n.height) / 2 + 20;
        expect(apart, `${n.id} and ${m.id}`).toBe(true);
      }
    }
  });

  it('draws every edge between existing nodes, starting and ending on their borders', () => {
    const ids = new Set(DIAGRAM.nodes.map((n) => n.id));
    expect(new Set(DIAGRAM.edges.map((e) => e.id)).size).toBe(DIAGRAM.edges.length);
    for (const edge of DIAGRAM.edges) {
      expect(ids.has(edge.from) && ids.has(edge.to), edge.id).toBe(true);
      expect(edge.points.length, edge.id).toBeGreaterThanOrEqual(2);
      expect(onBorder(diagramNode(edge.from), edge.points[0]!), `${edge.id} starts on ${edge.from}`).toBe(true);
      expect(onBorder(diagramNode(edge.to), edge.points.at(-1)!), `${edge.id} ends on ${edge.to}`).toBe(true);
      for (const p of edge.points) {
        expect(p.x >= 0 && p.x <= DIAGRAM.width && p.y >= 0 && p.y <= DIAGRAM.height, `${edge.id} inside`).toBe(true);
      }
    }
  });

  it('writes no edge label over a state', () => {
    for (const edge of DIAGRAM.edges) {
      const box = labelBox(edge.label, edge.labelAt, edge.labelAnchor);
      expect(box.left >= 0 && box.right <= DIAGRAM.width, `${edge.id} label inside`).toBe(true);
      for (const n of DIAGRAM.nodes) {
        const overlaps = box.left < n.x + n.width / 2 && box.right > n.x - n.width / 2 && box.top < n.y + n.height / 2 && box.bottom > n.y - n.height / 2;
        expect(overlaps, `label "${edge.label}" of ${edge.id} over ${n.id}`).toBe(false);
      }
    }
  });

  it('labels the teardown with the article\'s events and actions, the two close paths in their own colors', () => {
    const edge = (id: string) => DIAGRAM.edges.find((e) => e.id === id);
    expect(edge('ESTABLISHED->FIN_WAIT1')).toMatchObject({ label: 'close / FIN', path: 'active' });
    expect(edge('ESTABLISHED->CLOSE_WAIT')).toMatchObject({ label: 'rcv FIN / ACK', path: 'passive' });
    expect(edge('FIN_WAIT1->FIN_WAIT2')).toMatchObject({ label: 'rcv ACK', path: 'active' });
    expect(edge('FIN_WAIT2->TIME_WAIT')).toMatchObject({ label: 'rcv FIN / ACK', path: 'active' });
    expect(edge('CLOSE_WAIT->LAST_ACK')).toMatchObject({ label: 'close / FIN', path: 'passive' });
    expect(edge('LAST_ACK->CLOSED_END')).toMatchObject({ label: 'rcv ACK', path: 'passive' });
    expect(edge('TIME_WAIT->CLOSED_END')?.label).toMatch(/2MSL/);
    // The active path is the left half, the passive the right, as in the article's Figure 2.
    for (const n of DIAGRAM.nodes.filter((n) => n.path === 'active' && n.state !== 'CLOSING' && n.state !== 'TIME_WAIT')) expect(n.x).toBeLessThan(DIAGRAM.width / 2);
    for (const n of DIAGRAM.nodes.filter((n) => n.path === 'passive')) expect(n.x).toBeGreaterThan(DIAGRAM.width / 2);
  });
});

describe('a path through the diagram', () => {
  it('follows existing edges for the article\'s normal teardown, on both sides', () => {
    const active = traceStates(['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSED']);
    expect(active.steps.map((s) => s.edge?.id)).toEqual(['CLOSED->SYN_SENT', 'SYN_SENT->ESTABLISHED', 'ESTABLISHED->FIN_WAIT1', 'FIN_WAIT1->FIN_WAIT2', 'FIN_WAIT2->TIME_WAIT', 'TIME_WAIT->CLOSED_END']);
    expect(active.steps.every((s) => !s.jump)).toBe(true);
    expect(active.current).toBe('CLOSED_END');
    const passive = traceStates(['CLOSED', 'LISTEN', 'SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED']);
    expect(passive.steps.every((s) => s.edge && !s.jump)).toBe(true);
    expect(passive.current).toBe('CLOSED_END');
  });

  it('marks skipped states as a jump (the tracepoint never shows TIME_WAIT), never as an edge', () => {
    const traced = traceStates(['ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSED']);
    const last = traced.steps.at(-1)!;
    expect(last).toMatchObject({ from: 'FIN_WAIT2', to: 'CLOSED_END', jump: true });
    expect(last.edge).toBeUndefined();
    // A refused connect goes back to the CLOSED it came from.
    expect(traceStates(['CLOSED', 'SYN_SENT', 'CLOSED']).current).toBe('CLOSED');
    // A reset connection ends in the bottom CLOSED, by a jump.
    expect(traceStates(['ESTABLISHED', 'CLOSED']).steps[0]).toMatchObject({ to: 'CLOSED_END', jump: true });
  });

  it('uses only existing edges for every step it does not mark as a jump (all pairs of states)', () => {
    for (const a of TCP_STATES) {
      for (const b of TCP_STATES) {
        for (const step of traceStates(['CLOSED', a, b]).steps) {
          if (step.jump) {
            expect(DIAGRAM.edges.some((e) => e.from === step.from && e.to === step.to), `${step.from}->${step.to}`).toBe(false);
          } else {
            expect(DIAGRAM.edges).toContain(step.edge);
            expect([step.edge!.from, step.edge!.to]).toEqual([step.from, step.to]);
          }
        }
      }
    }
  });

  it('treats a state seen twice in a row (trace and poll) as one', () => {
    expect(traceStates(['ESTABLISHED', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT1']).steps).toHaveLength(1);
    expect(traceStates([]).current).toBeUndefined();
    expect(traceStates(['LISTEN']).current).toBe('LISTEN');
  });

  it('picks the latest connection, not the listener, and leads it in from CLOSED', () => {
    const transitions: Array<{ local: string; remote: string; state: TcpState }> = [
      { local: '198.18.77.2:7777', remote: '0.0.0.0:*', state: 'LISTEN' },
      { local: '198.18.77.2:7777', remote: '198.18.77.1:40000', state: 'SYN_RECV' },
      { local: '198.18.77.2:7777', remote: '198.18.77.1:40000', state: 'ESTABLISHED' },
      // OpenBSD nc closes its listener once it has accepted.
      { local: '198.18.77.2:7777', remote: '0.0.0.0:*', state: 'CLOSED' },
    ];
    expect(connectionStates(transitions)).toEqual(['CLOSED', 'LISTEN', 'SYN_RECV', 'ESTABLISHED']);
    expect(connectionStates([{ local: 'a:1', remote: 'b:7777', state: 'SYN_SENT' }])).toEqual(['CLOSED', 'SYN_SENT']);
    expect(connectionStates([transitions[0]!])).toEqual(['CLOSED', 'LISTEN']);
    expect(connectionStates([])).toEqual([]);
  });
});

describe('the standalone SVG', () => {
  const lostFin = {
    paths: { H1: ['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1'] as TcpState[], H2: ['CLOSED', 'LISTEN', 'SYN_RECV', 'ESTABLISHED'] as TcpState[] },
    highlight: { H1: 'FIN_WAIT1', H2: 'ESTABLISHED' } as Record<string, TcpState>,
  };

  it('is an SVG document a renderer accepts, in both themes', () => {
    for (const theme of ['light', 'dark'] as const) {
      const svg = renderStateDiagramSvg({ theme, ...lostFin, title: 'lost-fin' });
      const image = new Resvg(svg).render();
      expect(image.width).toBe(DIAGRAM.width);
      expect(image.height).toBe(DIAGRAM.height + 28);
    }
    const light = renderStateDiagramSvg({ theme: 'light' });
    expect(light).not.toBe(renderStateDiagramSvg({ theme: 'dark' }));
  });

  it('draws every state and edge, marks each host\'s state, and its path only along the edges it took', () => {
    const svg = renderStateDiagramSvg({ theme: 'light', ...lostFin });
    for (const n of DIAGRAM.nodes) expect(svg).toContain(`data-node="${n.id}"`);
    for (const e of DIAGRAM.edges) expect(svg).toContain(`data-edge="${e.id.replace('>', '&#62;')}"`);
    expect(svg).toMatch(/data-highlight-host="H1" data-state="FIN_WAIT1"/);
    expect(svg).toMatch(/data-highlight-host="H2" data-state="ESTABLISHED"/);
    const drawn = [...svg.matchAll(/data-path-host="(H\d)" data-path-edge="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]!.replace('&#62;', '>')}`);
    expect(drawn).toEqual(['H1 CLOSED->SYN_SENT', 'H1 SYN_SENT->ESTABLISHED', 'H1 ESTABLISHED->FIN_WAIT1', 'H2 CLOSED->LISTEN', 'H2 LISTEN->SYN_RECV', 'H2 SYN_RECV->ESTABLISHED']);
    expect(svg).not.toContain('data-jump');
  });

  it('draws a jump, dashed, where the observations skipped states, and escapes what it writes', () => {
    const svg = renderStateDiagramSvg({ theme: 'dark', paths: { H1: ['FIN_WAIT2', 'CLOSED'] }, title: 'a <b> & "c"' });
    expect(svg).toMatch(/data-jump="FIN_WAIT2->CLOSED_END"[^>]*stroke-dasharray/);
    expect(svg).toContain('a &#60;b&#62; &#38; &#34;c&#34;');
    expect(() => new Resvg(svg).render()).not.toThrow();
  });

  it('highlights both hosts when they are in the same state, the bottom CLOSED after a teardown', () => {
    const placed = hostNodes({ paths: { H1: ['FIN_WAIT2', 'TIME_WAIT', 'CLOSED'], H2: ['LAST_ACK', 'CLOSED'] } });
    expect(placed.map((p) => [p.host, p.node])).toEqual([['H1', 'CLOSED_END'], ['H2', 'CLOSED_END']]);
    const svg = renderStateDiagramSvg({ theme: 'light', highlight: { H1: 'CLOSED', H2: 'CLOSED' } });
    expect(svg.match(/data-highlight-host=/g)).toHaveLength(2);
  });
});

describe('offsetPolyline', () => {
  it('moves a straight or bent line sideways by the distance', () => {
    const moved = offsetPolyline([{ x: 0, y: 0 }, { x: 10, y: 0 }], 2);
    expect(moved.map((p) => Math.abs(p.y))).toEqual([2, 2]);
    const corner = offsetPolyline([{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 10, y: 10 }], 2);
    // The corner moves diagonally so both legs stay 2 away from the original.
    expect(Math.abs(corner[1]!.x - 10)).toBeCloseTo(2);
    expect(Math.abs(corner[1]!.y)).toBeCloseTo(2);
  });
});
