/**
 * The renderer's pages in the desktop app: served from the built files (renderer/dist) under
 * tcplab://app/, never from a remote URL, with a strict Content-Security-Policy. Pure Node (no
 * 'electron' import) so the path and header rules are tested directly.
 */
import { CONTENT_TYPES } from '../web/content-types';
import { extname, join, normalize, sep } from 'node:path';
import { APP_HOST, APP_SCHEME } from './ipc-guard';

/**
 * Everything is bundled (no CDN, fonts included) and LabApi goes over IPC, so the page may load
 * only its own files and connect nowhere. xterm.js writes its theme into a <style> element,
 * hence 'unsafe-inline' for styles only.
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "img-src 'self' data:",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');


export type AppFile = { file: string; headers: Record<string, string> } | { status: 404 | 400; reason: string };

/** Maps a tcplab://app/... request to a file below rendererDir, or refuses it. */
export function resolveAppFile(rendererDir: string, requestUrl: string): AppFile {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { status: 400, reason: 'malformed address' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { status: 404, reason: 'not an app address' };
  let relative: string;
  try {
    relative = decodeURIComponent(url.pathname);
  } catch {
    return { status: 400, reason: 'malformed address' };
  }
  if (relative === '/' || relative === '') relative = '/index.html';
  if (relative.includes('\0')) return { status: 400, reason: 'malformed address' };
  const root = normalize(rendererDir);
  const file = normalize(join(root, relative));
  if (!file.startsWith(root + sep)) return { status: 404, reason: 'outside the app' };
  return {
    file,
    headers: {
      'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': APP_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    },
  };
}

/** Requests the window may make: its own pages (and devtools in development). Everything else is cancelled. */
export function requestAllowed(url: string): boolean {
  return url.startsWith(`${APP_SCHEME}://${APP_HOST}/`) || url.startsWith('devtools://');
}
