/**
 * Browser mode's server without hosts: who it answers (127.0.0.1, the token, Host and Origin),
 * what it serves, and that a malformed or refused message is answered and never acted on.
 * The engine behind it is real, with hosts that are never contacted (no request here connects).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ResolvedHosts } from '../../electron/lab/hosts-config';
import { LabBackend } from '../../electron/web/lab-backend';
import { startWebServer, type WebServer } from '../../electron/web/web-server';
import { builtinExperiments } from '../../electron/lab/builtin-experiments';
import { parseServerMessage, type ServerMessage } from '../../shared/src/lab-api';
import { tcplab } from '../cli-runner';

const host = (label: 'H1' | 'H2', address: string) => ({
  label,
  address,
  port: 22,
  experimentAddress: address,
  user: 'lab',
  auth: { type: 'agent' as const, agentSocket: '/nonexistent' },
  sudo: 'none' as const,
});
// TEST-NET-1 addresses (RFC 5737): documentation only; nothing here ever connects to them.
const hosts: ResolvedHosts = { file: '/nonexistent/hosts.yaml', knownHostsFile: '/nonexistent/known_hosts', hosts: { H1: host('H1', '192.0.2.1'), H2: host('H2', '192.0.2.2') } };

let server: WebServer;
let backend: LabBackend;
const root = mkdtempSync(join(tmpdir(), 'tcplab-web-'));

beforeAll(async () => {
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>TCP Lab</title>');
  writeFileSync(join(dist, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'secret.txt'), 'not for the browser');
  backend = new LabBackend({ hosts, experiments: builtinExperiments(), outDir: join(root, 'runs') });
  server = await startWebServer({ backend, rendererDir: dist, port: 0 });
});
afterAll(() => server.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const cookie = (): string => `tcplab-token-${server.port}=${server.token}`;

describe('tcplab web: HTTP', () => {
  it('listens on 127.0.0.1 only and prints a link that carries the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses every request without the token, or with a wrong one', async () => {
    // The real token with its last character changed (to one it does not already end with).
    const wrong = `${server.token.slice(0, -1)}${server.token.endsWith('x') ? 'y' : 'x'}`;
    for (const path of ['/', '/index.html', '/assets/app.js', `/?token=${wrong}`]) {
      const answer = await get(path);
      expect(answer.status, path).toBe(403);
      expect(answer.body).toMatch(/link it printed/);
    }
    expect((await get('/', { cookie: `tcplab-token-${server.port}=wrong` })).status).toBe(403);
  });

  it('trades the token in the link for a cookie, then serves the app with a strict CSP', async () => {
    const first = await get(`/?token=${server.token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    expect(String(first.headers['set-cookie'])).toContain(`${cookie()}; HttpOnly; SameSite=Strict`);
    const page = await get('/', { cookie: cookie() });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>TCP Lab</title>');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers['content-security-policy']).toContain(`connect-src ws://127.0.0.1:${server.port}`);
    expect((await get('/assets/app.js', { cookie: cookie() })).body).toBe('console.log(1)');
  });

  it('refuses another Host name (DNS rebinding) even with the token', async () => {
    expect((await get('/', { cookie: cookie(), host: `evil.example:${server.port}` })).status).toBe(403);
  });

  it('serves nothing outside the app folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/nope.js']) {
      const answer = await get(path, { cookie: cookie() });
      expect(answer.status, path).toBe(404);
      expect(answer.body).not.toContain('not for the browser');
    }
  });
});

function openSocket(headers: Record<string, string>, query = ''): Promise<{ ws: WebSocket; messages: ServerMessage[]; next: (match: (m: ServerMessage) => boolean) => Promise<ServerMessage> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, { headers });
    const messages: ServerMessage[] = [];
    const waiters: Array<{ match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }> = [];
    ws.on('message', (data: Buffer) => {
      const parsed = parseServerMessage(data.toString());
      if (!parsed.ok) throw new Error(parsed.error);
      messages.push(parsed.value);
      for (const w of [...waiters]) {
        if (!w.match(parsed.value)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed.value);
      }
    });
    const next = (match: (m: ServerMessage) => boolean): Promise<ServerMessage> => {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((r) => waiters.push({ match, resolve: r }));
    };
    ws.once('open', () => resolve({ ws, messages, next }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('tcplab web: the LabApi WebSocket', () => {
  const origin = (): string => `http://127.0.0.1:${server.port}`;

  it('refuses a connection without the token, from another origin, or on another path', async () => {
    await expect(openSocket({ origin: origin() })).rejects.toThrow(/403/);
    await expect(openSocket({ origin: 'http://127.0.0.1:1', cookie: cookie() })).rejects.toThrow(/403/);
    await expect(openSocket({ origin: 'https://evil.example', cookie: cookie() })).rejects.toThrow(/403/);
  });

  it('greets a renderer with the hosts, the experiments and the state', async () => {
    const { ws, next } = await openSocket({ origin: origin(), cookie: cookie() });
    const hello = await next((m) => m.type === 'hello');
    expect(hello).toMatchObject({ type: 'hello', version: 1, state: { phase: 'idle' } });
    if (hello.type !== 'hello') throw new Error('not a hello');
    expect(hello.hosts.map((h) => h.label)).toEqual(['H1', 'H2']);
    const lostFin = hello.experiments.find((e) => e.id === 'lost-fin');
    expect(lostFin?.expect).toEqual({ H1: { passes: ['ESTABLISHED', 'FIN_WAIT1'], endsIn: 'FIN_WAIT1' }, H2: { passes: ['ESTABLISHED'], endsIn: 'ESTABLISHED' } });
    // Placeholders are filled as the run will fill them.
    expect(lostFin?.steps.map((s) => s.summary)).toContain('H1 upper: nc 192.0.2.2 7777');
    expect(JSON.stringify(hello)).not.toContain('/nonexistent'); // no secrets or local paths of the auth
    ws.close();
  });

  it('answers a malformed request with an error and does nothing', async () => {
    const { ws, next, messages } = await openSocket({ origin: origin(), cookie: cookie() });
    await next((m) => m.type === 'hello');
    ws.send(JSON.stringify({ type: 'request', id: 7, request: { method: 'connect', acceptFingerprints: ['not-a-fingerprint'] } }));
    const reply = await next((m) => m.type === 'reply' && m.id === 7);
    expect(reply).toMatchObject({ ok: false, error: { message: expect.stringMatching(/refused: .*SHA256/) } });
    ws.send('{"type": "pane-input", "host": "H1", "pane": "upper"}');
    ws.send('not json at all');
    const notices = [await next((m) => m.type === 'notice' && /data/.test(m.text)), await next((m) => m.type === 'notice' && /not JSON/.test(m.text))];
    expect(notices).toHaveLength(2);
    // Nothing was acted on: the engine never left idle.
    expect(backend.state).toEqual({ phase: 'idle' });
    expect(messages.filter((m) => m.type === 'state' || m.type === 'event' || m.type === 'events')).toEqual([]);
    ws.close();
  });

  it('refuses what cannot be done now, in words', async () => {
    const { ws, next } = await openSocket({ origin: origin(), cookie: cookie() });
    await next((m) => m.type === 'hello');
    ws.send(JSON.stringify({ type: 'request', id: 1, request: { method: 'run', experiment: 'lost-fin' } }));
    expect(await next((m) => m.type === 'reply' && m.id === 1)).toMatchObject({ ok: false, error: { message: 'Connect to H1 and H2 first.' } });
    ws.send(JSON.stringify({ type: 'request', id: 2, request: { method: 'abort' } }));
    expect(await next((m) => m.type === 'reply' && m.id === 2)).toMatchObject({ ok: false, error: { message: 'No experiment is running.' } });
    ws.send(JSON.stringify({ type: 'pane-input', host: 'H1', pane: 'upper', data: 'ls\r' }));
    expect(await next((m) => m.type === 'notice')).toMatchObject({ level: 'error', text: "H1's upper pane is not open: connect to the hosts first." });
    ws.close();
  });
});

describe('tcplab web: the command line', () => {
  it('says what it needs, with the usage, and exits 64', () => {
    const none = tcplab(['web']);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/give exactly one of --hosts FILE or --lab local\nusage: tcplab web \(--hosts FILE \| --lab local\)/);
    const port = tcplab(['web', '--hosts', 'x.yaml', '--port', '80000']);
    expect(port.code).toBe(64);
    expect(port.stderr).toContain('--port must be a whole number from 1 to 65535 (got "80000")');
    expect(tcplab(['help']).stdout).toMatch(/^ {2}web +the app in a browser on this machine/m);
  }, 60_000); // three CLI starts through tsx
});
