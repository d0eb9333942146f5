/**
 * The desktop shell's boundary, without the Electron runtime: the IPC sender check and message
 * validation (the real LabApi parser), the tcplab://app file mapping and CSP, the remembered
 * window position, and the built preload, which is evaluated with a recording `electron` module
 * to prove it exposes exactly the named functions and never ipcRenderer or an IPC event.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { APP_CSP, requestAllowed, resolveAppFile } from '../../electron/main/app-protocol';
import { judgeIpcMessage, senderRefusal, type IpcSender } from '../../electron/main/ipc-guard';
import { fitToDisplays, parseWindowState } from '../../electron/main/window-state';

const REPO = join(import.meta.dirname, '..', '..');
const ours: IpcSender = { frameUrl: 'tcplab://app/index.html', isMainWindowTopFrame: true };

describe('IPC sender check', () => {
  it('trusts only the top frame of the app window showing tcplab://app', () => {
    expect(senderRefusal(ours)).toBeUndefined();
    expect(senderRefusal({ ...ours, isMainWindowTopFrame: false })).toMatch(/not the top frame/);
    expect(senderRefusal({ frameUrl: undefined, isMainWindowTopFrame: true })).toMatch(/gone/);
    for (const url of ['https://evil.example/', 'file:///etc/passwd', 'tcplab://evil/index.html', 'tcplab://app:8080/', 'tcplab://user@app/', 'http://127.0.0.1:5173/', 'not a url']) {
      expect(senderRefusal({ frameUrl: url, isMainWindowTopFrame: true }), url).toBeDefined();
    }
  });

  it('drops anything from an untrusted sender, even a valid request, without answering', () => {
    const request = { type: 'request', id: 7, request: { method: 'connect' } };
    expect(judgeIpcMessage(ours, request)).toMatchObject({ action: 'accept', message: { type: 'request', id: 7, request: { method: 'connect', acceptFingerprints: [] } } });
    expect(judgeIpcMessage({ frameUrl: 'https://evil.example/', isMainWindowTopFrame: true }, request)).toMatchObject({ action: 'drop' });
  });

  it('refuses malformed messages with the parser\'s reason, answering a request by its id', () => {
    expect(judgeIpcMessage(ours, { type: 'request', id: 9, request: { method: 'rm-rf' } })).toMatchObject({ action: 'refuse', requestId: 9, error: expect.stringMatching(/refused: request.method/) });
    expect(judgeIpcMessage(ours, { type: 'pane-input', host: 'H3', pane: 'upper', data: 'x' })).toMatchObject({ action: 'refuse', error: expect.stringMatching(/host/) });
    expect(judgeIpcMessage(ours, '{"type":"request","id":1,"request":{"method":"disconnect"}}')).toMatchObject({ action: 'refuse', error: /not an object/ });
    expect(judgeIpcMessage(ours, null)).toMatchObject({ action: 'refuse' });
    // A hosts-save with a shell metacharacter in an address never reaches the engine.
    const save = { type: 'request', id: 3, request: { method: 'hosts-save', hosts: { H1: { address: 'a;b', port: 22, user: 'lab', auth: { type: 'agent' }, sudo: 'none' }, H2: { address: 'h2', port: 22, user: 'lab', auth: { type: 'agent' }, sudo: 'none' } } } };
    expect(judgeIpcMessage(ours, save)).toMatchObject({ action: 'refuse', requestId: 3 });
  });
});

describe('tcplab://app pages', () => {
  const root = '/opt/tcplab/renderer/dist';
  it('maps addresses to files below the built renderer, with the strict CSP; nothing outside', () => {
    expect(resolveAppFile(root, 'tcplab://app/')).toMatchObject({ file: `${root}/index.html`, headers: { 'Content-Security-Policy': APP_CSP } });
    expect(resolveAppFile(root, 'tcplab://app/assets/index-abc.js')).toMatchObject({ file: `${root}/assets/index-abc.js`, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } });
    for (const bad of ['tcplab://app/../../../etc/passwd', 'tcplab://app/%2e%2e/%2e%2e/etc/passwd', 'tcplab://app/..%2f..%2fetc%2fpasswd', 'tcplab://other/index.html', 'tcplab://app/%00']) {
      const result = resolveAppFile(root, bad);
      // Refused, or (URL parsing already folds `..`) a file that is still below the renderer.
      if ('file' in result) expect(result.file.startsWith(`${root}/`) && !result.file.includes('/../'), bad).toBe(true);
      if (bad.includes('other') || bad.includes('%00') || bad.includes('%2f')) expect('status' in result, bad).toBe(true);
    }
    expect(resolveAppFile(root, 'tcplab://app/../../../etc/passwd')).toMatchObject({ file: `${root}/etc/passwd` });
    expect(APP_CSP).toMatch(/default-src 'none'/);
    expect(APP_CSP).toMatch(/connect-src 'none'/);
    expect(APP_CSP).not.toMatch(/unsafe-eval|https?:/);
  });
  it('lets the window request only its own pages', () => {
    expect(requestAllowed('tcplab://app/assets/x.woff2')).toBe(true);
    for (const url of ['https://fonts.googleapis.com/css', 'http://127.0.0.1/', 'ws://localhost:1/', 'file:///etc/passwd']) expect(requestAllowed(url), url).toBe(false);
  });
});

describe('window state', () => {
  it('restores a sane saved state and drops a position on a monitor that is gone', () => {
    expect(parseWindowState('{"x":100,"y":50,"width":1400,"height":900,"maximized":true}')).toEqual({ x: 100, y: 50, width: 1400, height: 900, maximized: true });
    expect(parseWindowState('garbage')).toMatchObject({ width: 1280, height: 800 });
    expect(parseWindowState('{"width":10,"height":10}')).toMatchObject({ width: 900, height: 600 });
    const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];
    expect(fitToDisplays({ x: 100, y: 50, width: 1200, height: 800, maximized: false }, screen)).toHaveProperty('x', 100);
    expect(fitToDisplays({ x: 2500, y: 50, width: 1200, height: 800, maximized: false }, screen)).not.toHaveProperty('x');
  });
});

describe('the built preload', () => {
  let code: string;
  beforeAll(() => {
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO, 'scripts', 'build-electron.ts')], { cwd: REPO, stdio: 'pipe' });
    code = readFileSync(join(REPO, 'dist-electron', 'preload', 'index.cjs'), 'utf8');
  }, 60_000);

  it('requires only electron and exposes exactly send, onMessage and start as window.lab', () => {
    expect([...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1])).toEqual(['electron']);
    const exposed: Record<string, unknown> = {};
    const sent: unknown[][] = [];
    const handlers = new Map<string, (...args: unknown[]) => void>();
    const ipcRenderer = {
      send: (...args: unknown[]) => sent.push(args),
      on: (channel: string, handler: (...args: unknown[]) => void) => handlers.set(channel, handler),
    };
    const electron = { contextBridge: { exposeInMainWorld: (name: string, api: unknown) => (exposed[name] = api) }, ipcRenderer };
    runInNewContext(code, { require: (name: string) => (name === 'electron' ? electron : undefined), exports: {}, module: { exports: {} } });

    expect(Object.keys(exposed)).toEqual(['lab']);
    const lab = exposed.lab as Record<string, (...args: unknown[]) => unknown>;
    expect(Object.keys(lab).sort()).toEqual(['onMessage', 'send', 'start']);
    for (const value of Object.values(lab)) expect(typeof value).toBe('function');
    expect(Object.values(lab)).not.toContain(ipcRenderer);

    lab.send!({ type: 'pane-input' });
    lab.start!();
    expect(sent).toEqual([['lab:message', { type: 'pane-input' }], ['lab:start']]);
    const received: unknown[][] = [];
    lab.onMessage!((...args: unknown[]) => received.push(args));
    handlers.get('lab:message')!({ sender: ipcRenderer, senderFrame: 'secret' }, { type: 'state' });
    expect(received).toEqual([[{ type: 'state' }]]); // the message only, never the IPC event
    expect(() => lab.onMessage!(() => undefined)).toThrow(/already listening/);
  });
});
