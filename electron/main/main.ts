/**
 * The desktop app's main process: the thin shell around the engine (DESIGN.md, Layers). It runs
 * LabBackend (electron/web/lab-backend.ts, the same engine side browser mode serves) and carries
 * LabApi over IPC to one sandboxed window. ssh2 lives here only.
 *
 * Security (Electron's checklist): contextIsolation, sandbox, no nodeIntegration; the pages come
 * from the built files under tcplab://app/ with a strict CSP; navigation, new windows, webviews
 * and permission requests are denied; the window may request nothing but its own pages; IPC is
 * accepted only from the window's top frame showing our page, and every message is validated.
 */
import { app, BrowserWindow, ipcMain, Menu, net, protocol, safeStorage, screen, session, shell, type IpcMainEvent, type WebContents } from 'electron';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerMessage } from '../../shared/src/lab-api';
import { builtinExperiments } from '../lab/builtin-experiments';
import type { ResolvedHosts } from '../lab/hosts-config';
import { EncryptedSecretStore, HostsStore, type SecretCipher } from '../lab/hosts-store';
import { LabBackend } from '../web/lab-backend';
import { localLabControl } from '../web/web-command';
import { dispatch } from '../web/ws-transport';
import { APP_ORIGIN, APP_SCHEME, judgeIpcMessage, senderRefusal } from './ipc-guard';
import { requestAllowed, resolveAppFile } from './app-protocol';
import { buildMenu } from './menu';
import { fitToDisplays, loadWindowState, saveWindowState } from './window-state';

// TCPLAB_USER_DATA: another settings folder (hosts, secrets, window state), for tests and trials.
if (process.env.TCPLAB_USER_DATA) app.setPath('userData', process.env.TCPLAB_USER_DATA);

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

/** Electron's safeStorage: the desktop keyring. 'basic_text' (no keyring) encrypts with a fixed key, so it counts as unavailable. */
const safeStorageCipher: SecretCipher = {
  available: () => safeStorage.isEncryptionAvailable() && (process.platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text'),
  encrypt: (plain) => safeStorage.encryptString(plain),
  decrypt: (encrypted) => safeStorage.decryptString(encrypted),
  backend: () => (process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : process.platform === 'darwin' ? 'Keychain' : 'DPAPI'),
};

let mainWindow: BrowserWindow | undefined;
let backend: LabBackend | undefined;
const consumers = new Set<WebContents>();

function send(target: WebContents, message: ServerMessage): void {
  if (!target.isDestroyed()) target.send('lab:message', message);
}

function senderOf(event: IpcMainEvent): { frameUrl: string | undefined; isMainWindowTopFrame: boolean } {
  const frame = event.senderFrame;
  return { frameUrl: frame?.url, isMainWindowTopFrame: frame !== null && mainWindow !== undefined && !mainWindow.isDestroyed() && frame === mainWindow.webContents.mainFrame };
}

function wireIpc(lab: LabBackend): void {
  lab.on('message', (message) => {
    for (const target of consumers) send(target, message);
  });
  ipcMain.on('lab:start', (event) => {
    const refusal = senderRefusal(senderOf(event));
    if (refusal) return console.warn(`IPC start dropped: ${refusal}`);
    const target = event.sender;
    if (!consumers.has(target)) {
      consumers.add(target);
      target.once('destroyed', () => {
        consumers.delete(target);
        lab.setConsumers(consumers.size);
      });
      lab.setConsumers(consumers.size);
    }
    send(target, lab.hello());
    for (const message of lab.replay()) send(target, message);
  });
  ipcMain.on('lab:message', (event, raw: unknown) => {
    const verdict = judgeIpcMessage(senderOf(event), raw);
    switch (verdict.action) {
      case 'drop':
        return console.warn(verdict.why);
      case 'refuse':
        return send(event.sender, verdict.requestId !== undefined ? { type: 'reply', id: verdict.requestId, ok: false, error: { message: verdict.error } } : { type: 'notice', level: 'error', text: verdict.error });
      case 'accept':
        void dispatch(verdict.message, lab, (message) => send(event.sender, message));
    }
  });
}

function lockDown(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  // No request leaves the window except for its own pages: ssh2 runs here, not in the page.
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !requestAllowed(details.url) }));
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

function createWindow(): BrowserWindow {
  const stateFile = join(app.getPath('userData'), 'window-state.json');
  const state = fitToDisplays(loadWindowState(stateFile), screen.getAllDisplays().map((d) => d.workArea));
  const win = new BrowserWindow({
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    width: state.width,
    height: state.height,
    minWidth: 900,
    minHeight: 600,
    title: 'TCP Lab',
    show: false,
    backgroundColor: '#f8fafc',
    webPreferences: {
      preload: join(app.getAppPath(), 'dist-electron', 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  win.on('close', () => {
    const bounds = win.getNormalBounds();
    saveWindowState(stateFile, { ...bounds, maximized: win.isMaximized() });
  });
  void win.loadURL(`${APP_ORIGIN}/index.html`);
  return win;
}

async function start(): Promise<void> {
  await app.whenReady();
  const rendererDir = join(app.getAppPath(), 'renderer', 'dist');
  protocol.handle(APP_SCHEME, async (request) => {
    const resolved = resolveAppFile(rendererDir, request.url);
    if ('status' in resolved) return new Response(resolved.reason, { status: resolved.status });
    const file = await net.fetch(`file://${resolved.file}`).catch(() => undefined);
    if (!file?.ok) return new Response('not found', { status: 404 });
    return new Response(file.body, { status: 200, headers: resolved.headers });
  });
  lockDown();

  const userData = app.getPath('userData');
  mkdirSync(userData, { recursive: true, mode: 0o700 });
  const secrets = await EncryptedSecretStore.open(join(userData, 'secrets.json'), safeStorageCipher);
  // TCPLAB_KNOWN_HOSTS: another known_hosts than the hosts file names (tests start from an empty one).
  const knownHostsFile = process.env.TCPLAB_KNOWN_HOSTS;
  const store = new HostsStore({ file: join(userData, 'hosts.yaml'), secrets, ...(knownHostsFile ? { knownHostsFile } : {}) });
  let hosts: ResolvedHosts | undefined;
  try {
    readFileSync(store.file);
    hosts = await store.resolve();
  } catch {
    hosts = undefined; // No hosts yet, or not usable: the Hosts view says why.
  }
  const outDir = join(app.getPath('documents'), 'TCP Lab runs');
  backend = new LabBackend({ hosts, hostsStore: store, localLab: localLabControl, experiments: builtinExperiments(), outDir });
  wireIpc(backend);

  Menu.setApplicationMenu(buildMenu({ isPackaged: app.isPackaged, openRuns: () => void shell.openPath(outDir) }));
  mainWindow = createWindow();
  mainWindow.on('closed', () => (mainWindow = undefined));
}

let quitting = false;
app.on('before-quit', (event) => {
  // Clean the hosts up (abort a run, remove our firewall rules) before the process goes.
  if (quitting || !backend) return;
  event.preventDefault();
  quitting = true;
  void backend.shutdown().finally(() => app.quit());
});
app.on('window-all-closed', () => app.quit());

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow?.isMinimized()) mainWindow.restore();
    mainWindow?.focus();
  });
  start().catch((error: unknown) => {
    console.error(`TCP Lab could not start: ${(error as Error).stack ?? String(error)}`);
    app.exit(1);
  });
}
