/**
 * Browser mode's server: serves the built renderer and carries LabApi over a WebSocket.
 *
 * Reachable from this machine only (bound to 127.0.0.1), and only with the token printed at
 * start: every HTTP request and the WebSocket upgrade must carry it, as `?token=` (the printed
 * link, which then sets a cookie and redirects to a clean address) or as that cookie. Host and
 * Origin are checked too, so neither another page in the browser (a WebSocket from any origin
 * would otherwise be accepted) nor a DNS-rebound name can drive the hosts.
 */
import { CONTENT_TYPES } from './content-types';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer } from 'ws';
import { MAX_MESSAGE_BYTES } from '../../shared/src/lab-api';
import type { LabBackend } from './lab-backend';
import { serveLabApi } from './ws-transport';

export interface WebServerOptions {
  backend: LabBackend;
  /** The built renderer (index.html and assets/). */
  rendererDir: string;
  /** 0: any free port. */
  port: number;
  /** Given by tests; otherwise random per start. */
  token?: string;
}

export interface WebServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}


export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const index = join(options.rendererDir, 'index.html');
  if (!existsSync(index)) {
    throw new Error(`the app's pages are not built (no ${index}); build them with: npm run build:renderer`);
  }
  const token = options.token ?? randomBytes(24).toString('base64url');
  const server = createServer();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  let port = 0;
  const cookieName = (): string => `tcplab-token-${port}`;

  const authorized = (request: IncomingMessage, url: URL): 'query' | 'cookie' | undefined => {
    if (!hostAllowed(request.headers.host, port)) return undefined;
    const fromQuery = url.searchParams.get('token');
    if (fromQuery !== null && sameSecret(fromQuery, token)) return 'query';
    const fromCookie = readCookie(request.headers.cookie, cookieName());
    if (fromCookie !== undefined && sameSecret(fromCookie, token)) return 'cookie';
    return undefined;
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const how = authorized(request, url);
    if (!how) return refuse(response, 403, 'This TCP Lab server only answers the link it printed when it started (the one with ?token=...). Open that link, or restart `tcplab web` for a new one.');
    if (how === 'query') {
      // Trade the token in the address for a cookie, so it leaves the address bar and history.
      url.searchParams.delete('token');
      response.writeHead(303, {
        'Set-Cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: `${url.pathname}${url.search}`,
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
      });
      return response.end();
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(response, 405, 'Only GET is served here; the app talks to the engine over its WebSocket.');
    serveFile(options.rendererDir, url.pathname, port, request, response);
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const origin = request.headers.origin;
    const originAllowed = origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
    if (url.pathname !== '/api' || !originAllowed || !authorized(request, url)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  });

  serveLabApi(sockets, options.backend);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : options.port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      for (const ws of sockets.clients) ws.close(1001, 'TCP Lab is shutting down');
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Only 127.0.0.1 and localhost on our port: a page on another name that resolves here is refused. */
function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function refuse(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(`${text}\n`);
}

function securityHeaders(port: number): Record<string, string> {
  return {
    // Everything is bundled: no CDN, no remote fonts; the only connection is our own WebSocket.
    // xterm.js writes its theme into a <style> element, hence 'unsafe-inline' for styles only.
    'Content-Security-Policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "font-src 'self'",
      "img-src 'self' data:",
      `connect-src ws://127.0.0.1:${port} ws://localhost:${port}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
}

function serveFile(root: string, pathname: string, port: number, request: IncomingMessage, response: ServerResponse): void {
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    return refuse(response, 400, 'Malformed address.');
  }
  if (relative === '/' || relative === '') relative = '/index.html';
  const file = normalize(join(root, relative));
  if (!file.startsWith(normalize(root) + sep) || relative.includes('\0')) return refuse(response, 404, 'Not found.');
  let size: number;
  try {
    const stats = statSync(file);
    if (!stats.isFile()) return refuse(response, 404, 'Not found.');
    size = stats.size;
  } catch {
    return refuse(response, 404, 'Not found.');
  }
  const isHtml = extname(file) === '.html';
  response.writeHead(200, {
    ...securityHeaders(port),
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': String(size),
    // Vite names assets by content hash; the page itself must always be fresh.
    'Cache-Control': isHtml ? 'no-store' : 'public, max-age=31536000, immutable',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(file).pipe(response);
}
