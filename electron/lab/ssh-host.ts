/**
 * One SSH connection to one lab host (ssh2), with many channels: PTY shells for panes, exec
 * channels for probes. Host keys are checked against known_hosts inside ssh2's hostVerifier,
 * which runs during key exchange, before any credential is sent.
 */
import { EventEmitter } from 'node:events';
// ssh2 is CommonJS; Node's ESM loader cannot see its named exports, so take them off the default.
import ssh2, { type Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import type { ConnectionStatus } from '../../shared/src/events';
import { shellQuote } from '../../shared/src/safe-values';
import type { ResolvedAuth, ResolvedHost, ResolvedJump } from './hosts-config';
import { CommandChannel } from './command-channel';
import { JumpTunnelError, openJumpTunnel, type JumpTunnel } from './jump-host';
import { checkHostKey, fingerprintSha256, keyTypeOf, parseKnownHosts } from './known-hosts';
import { readFileSync } from 'node:fs';

/** Why a connection attempt failed, in a lab assistant's words, and whether retrying can help. */
export class HostConnectError extends Error {
  constructor(
    readonly host: string,
    readonly kind: 'unknown-host-key' | 'changed-host-key' | 'revoked-host-key' | 'auth' | 'unreachable' | 'timeout' | 'other',
    message: string,
    /** Present for unknown host keys: what the user must accept. */
    readonly fingerprint?: string,
    /** For host-key problems: the key itself (to write to known_hosts once accepted), and what is known. */
    readonly hostKey?: HostKeyDetails,
    /** Set when the problem is with the host's jump host (ProxyJump), as written: `[user@]host[:port]`. */
    readonly jumpHost?: string,
  ) {
    super(message);
  }
  get retryable(): boolean {
    return this.kind === 'unreachable' || this.kind === 'timeout' || this.kind === 'other';
  }
}

export interface HostKeyDetails {
  /** The key blob the host presented. */
  keyBlob: Buffer;
  /** Where it was looked up (and where an accepted key is written). */
  knownHostsFile: string;
  address: string;
  port: number;
  /** For a changed key: the fingerprints known_hosts has for this host. */
  knownFingerprints?: string[];
  /** For a changed key: the command that removes the old entry. */
  fix?: string;
}

/** `ssh-keygen -R` for a host, quoted for a POSIX shell, exactly as a lab assistant would type it. */
export function removeKeyCommand(address: string, port: number, knownHostsFile: string): string {
  const name = port === 22 ? address : `[${address}]:${port}`;
  return `ssh-keygen -R ${shellQuote(name)} -f ${shellQuote(knownHostsFile)}`;
}

export interface HostKeyPolicy {
  knownHostsFile: string;
  /** Fingerprints (SHA256:...) the user accepted for hosts not yet in known_hosts. */
  acceptedFingerprints?: ReadonlySet<string>;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal?: string;
}

export interface ExecOptions {
  /** Run as root: directly when the login is root, else through sudo (password fed on stdin). */
  root?: boolean;
  /** Extra input written after the sudo password. */
  input?: string;
  timeoutMs?: number;
}

/** Reconnect delays: capped exponential backoff. */
export function backoffMs(attempt: number, baseMs = 1000, capMs = 30_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** One end SSH logs in to: the lab host itself, or its jump host. For checks and messages. */
interface Endpoint {
  /** How messages name it: `H2`, or `H2's jump host gw@bastion:22`. */
  name: string;
  address: string;
  port: number;
  user: string;
  auth: ResolvedAuth;
  /** The ProxyJump text, when this is the jump host. */
  jumpHost?: string;
}

function setAuth(config: ConnectConfig, auth: ResolvedAuth): void {
  if (auth.type === 'key') {
    config.privateKey = auth.privateKey;
    if (auth.passphrase !== undefined) config.passphrase = auth.passphrase;
  } else if (auth.type === 'agent') config.agent = auth.agentSocket;
  else config.password = auth.password;
}

export interface SshHostEvents {
  status: [status: ConnectionStatus, detail: string | undefined, attempt: number | undefined];
}

export class SshHost extends EventEmitter<SshHostEvents> {
  private client: Client | undefined;
  /** The connection to the jump host that carries `client`, when the host has a ProxyJump. */
  private jumpClient: Client | undefined;
  private closedByUs = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly commandChannels = new Map<'root' | 'user', Promise<CommandChannel>>();
  status: ConnectionStatus = 'closed';

  constructor(
    readonly host: ResolvedHost,
    private readonly keyPolicy: HostKeyPolicy,
    private readonly options: { reconnect?: boolean; readyTimeoutMs?: number } = {},
  ) {
    super();
  }

  get label(): string {
    return this.host.label;
  }

  private setStatus(status: ConnectionStatus, detail?: string, attempt?: number): void {
    this.status = status;
    this.emit('status', status, detail, attempt);
  }

  /** Connects once; rejects with a HostConnectError that says what went wrong. */
  async connect(): Promise<void> {
    this.closedByUs = false;
    this.setStatus('connecting');
    try {
      this.client = await this.openClient();
    } catch (error) {
      this.setStatus('failed', (error as Error).message);
      throw error;
    }
    this.setStatus('connected');
  }

  private get endpoint(): Endpoint {
    const { label, address, port, user, auth } = this.host;
    return { name: label, address, port, user, auth };
  }

  private jumpEndpoint(jump: ResolvedJump): Endpoint {
    return { name: `${this.host.label}'s jump host ${jump.spec}`, address: jump.address, port: jump.port, user: jump.user, auth: jump.auth, jumpHost: jump.spec };
  }

  /** Connects through the jump host first when the host has one (ProxyJump), then to the host. */
  private async openClient(): Promise<Client> {
    const { jump } = this.host;
    const tunnel = jump === undefined ? undefined : await this.openJump(jump);
    let client: Client;
    try {
      client = await this.openTarget(tunnel);
    } catch (error) {
      tunnel?.client.end();
      throw error;
    }
    this.jumpClient = tunnel?.client;
    // A jump host that drops takes the channel, and so this connection, with it: say which one dropped.
    let jumpGone = false;
    let jumpError: string | undefined;
    tunnel?.client.on('error', (error: Error) => {
      jumpError ??= error.message;
    });
    tunnel?.client.once('close', () => {
      jumpGone = true;
      client.end();
    });
    client.on('close', () => {
      tunnel?.client.end();
      const detail =
        jump === undefined
          ? 'the SSH connection dropped'
          : jumpGone || jumpError !== undefined
            ? `the jump host ${jump.spec} dropped the connection${jumpError !== undefined ? ` (${jumpError})` : ''}`
            : `the SSH connection dropped (through the jump host ${jump.spec})`;
      this.onUnexpectedClose(client, detail);
    });
    return client;
  }

  private baseConfig(who: Endpoint, hostVerifier: (key: Buffer) => boolean): ConnectConfig {
    const config: ConnectConfig = {
      host: who.address,
      port: who.port,
      username: who.user,
      readyTimeout: this.options.readyTimeoutMs ?? 10_000,
      keepaliveInterval: 5_000,
      keepaliveCountMax: 3,
      hostVerifier,
    };
    setAuth(config, who.auth);
    return config;
  }

  /** The jump host's connection and a channel through it to the host's SSH port. */
  private async openJump(jump: ResolvedJump): Promise<JumpTunnel> {
    const who = this.jumpEndpoint(jump);
    let hostKeyProblem: HostConnectError | undefined;
    const config = this.baseConfig(who, (key) => {
      hostKeyProblem = this.verifyHostKey(key, who);
      return hostKeyProblem === undefined;
    });
    try {
      return await openJumpTunnel(config, { address: this.host.address, port: this.host.port });
    } catch (error) {
      const { label, address, port, user } = this.host;
      if (error instanceof JumpTunnelError && error.stage === 'forward') {
        throw new HostConnectError(
          label,
          'unreachable',
          `${label} (${user}@${address}:${port}): the jump host ${jump.spec} cannot open a connection to ${address}:${port} (${error.reason.message}). ` +
            `The address and port must be the host's as the jump host sees them; is sshd running there?`,
          undefined,
          undefined,
          jump.spec,
        );
      }
      throw hostKeyProblem ?? this.describeConnectError(error instanceof JumpTunnelError ? error.reason : (error as Error), who);
    }
  }

  private openTarget(tunnel: JumpTunnel | undefined): Promise<Client> {
    const who = this.endpoint;
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let hostKeyProblem: HostConnectError | undefined;
      let settled = false;
      let jumpLost = false;
      const config = this.baseConfig(who, (key: Buffer): boolean => {
        hostKeyProblem = this.verifyHostKey(key, who);
        return hostKeyProblem === undefined;
      });
      if (tunnel) {
        config.sock = tunnel.stream;
        tunnel.client.once('close', () => {
          jumpLost = true;
        });
      }
      client.once('ready', () => {
        settled = true;
        resolve(client);
      });
      client.once('error', (error: Error & { level?: string; code?: string }) => {
        if (settled) return;
        settled = true;
        client.end();
        if (hostKeyProblem === undefined && jumpLost && tunnel && this.host.jump) {
          const { label, address, port, user } = this.host;
          reject(new HostConnectError(label, 'unreachable', `${label} (${user}@${address}:${port}): the jump host ${this.host.jump.spec} dropped the connection while connecting (${error.message})`, undefined, undefined, this.host.jump.spec));
          return;
        }
        reject(hostKeyProblem ?? this.describeConnectError(error, who));
      });
      client.connect(config);
    });
  }

  private verifyHostKey(key: Buffer, who: Endpoint): HostConnectError | undefined {
    const { address, port } = who;
    const label = this.host.label;
    let text = '';
    try {
      text = readFileSync(this.keyPolicy.knownHostsFile, 'utf8');
    } catch {
      // A missing known_hosts file means every key is unknown, as with OpenSSH.
    }
    const verdict = checkHostKey(parseKnownHosts(text), address, port, key);
    const fingerprint = fingerprintSha256(key);
    const details: HostKeyDetails = { keyBlob: key, knownHostsFile: this.keyPolicy.knownHostsFile, address, port };
    switch (verdict.status) {
      case 'trusted':
        return undefined;
      case 'unknown':
        if (this.keyPolicy.acceptedFingerprints?.has(fingerprint)) return undefined;
        return new HostConnectError(
          label,
          'unknown-host-key',
          `${who.name} (${address}:${port}) is not in ${this.keyPolicy.knownHostsFile}. Its ${keyTypeOf(key)} key has fingerprint ${fingerprint}. ` +
            `Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the host) and accept it to connect.`,
          fingerprint,
          details,
          who.jumpHost,
        );
      case 'changed': {
        const fix = removeKeyCommand(address, port, this.keyPolicy.knownHostsFile);
        return new HostConnectError(
          label,
          'changed-host-key',
          `${who.name} (${address}:${port}) presented a different host key than ${this.keyPolicy.knownHostsFile} records: ` +
            `now ${fingerprint}, known ${verdict.knownFingerprints.join(', ')}. This can mean the host was reinstalled, or that ` +
            `someone is intercepting the connection. Refused. If the host was reinstalled, remove the old entry ` +
            `(${fix}) and connect again.`,
          fingerprint,
          { ...details, knownFingerprints: verdict.knownFingerprints, fix },
          who.jumpHost,
        );
      }
      case 'revoked':
        return new HostConnectError(label, 'revoked-host-key', `${who.name} (${address}:${port}) presented a key marked @revoked in ${this.keyPolicy.knownHostsFile} (${fingerprint}). Refused.`, fingerprint, undefined, who.jumpHost);
    }
  }

  private describeConnectError(error: Error & { level?: string; code?: string }, who: Endpoint): HostConnectError {
    const { label } = this.host;
    const { address, port, user, jumpHost } = who;
    const where = `${who.name} (${user}@${address}:${port})`;
    const through = jumpHost === undefined && this.host.jump !== undefined ? ` (through the jump host ${this.host.jump.spec})` : '';
    const fail = (kind: HostConnectError['kind'], message: string): HostConnectError => new HostConnectError(label, kind, message, undefined, undefined, jumpHost);
    if (error.level === 'client-authentication') {
      return fail('auth', `${where}: authentication failed (${who.auth.type})${through}. Check the user name and that the key or password is authorized on the host.`);
    }
    if (error.level === 'client-timeout' || /timed out/i.test(error.message)) {
      return fail('timeout', `${where}: no SSH answer within ${(this.options.readyTimeoutMs ?? 10_000) / 1000} s${through}. Is the host up and the address right?`);
    }
    if (error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH' || error.code === 'ENOTFOUND') {
      return fail('unreachable', `${where}: cannot reach the host (${error.code}). Is sshd running and the address right?`);
    }
    return fail('other', `${where}: ${error.message}${through}`);
  }

  private onUnexpectedClose(client: Client, detail: string): void {
    if (client !== this.client) return; // an old connection's late close
    this.client = undefined;
    this.jumpClient = undefined;
    this.commandChannels.clear();
    if (this.closedByUs) {
      this.setStatus('closed');
      return;
    }
    this.setStatus('disconnected', detail);
    if (this.options.reconnect) this.scheduleReconnect(1);
  }

  private scheduleReconnect(attempt: number): void {
    const delay = backoffMs(attempt);
    this.setStatus('reconnecting', `retrying in ${Math.round(delay / 1000)} s`, attempt);
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        if (error instanceof HostConnectError && !error.retryable) return; // never after auth or host-key failure
        if (!this.closedByUs) this.scheduleReconnect(attempt + 1);
      });
    }, delay);
  }

  private requireClient(): Client {
    if (!this.client) throw new Error(`${this.label} is not connected`);
    return this.client;
  }

  /** Wraps a shell command so it runs as root, by the host's configured privilege path. */
  privileged(command: string): { command: string; stdinPrefix: string } {
    switch (this.host.sudo) {
      case 'none':
        return { command, stdinPrefix: '' };
      case 'passwordless':
        return { command: `sudo -n -- sh -c ${shellQuote(command)}`, stdinPrefix: '' };
      case 'password':
        // -S reads the password from stdin, -p '' keeps the prompt out of stderr.
        return { command: `sudo -S -p '' -- sh -c ${shellQuote(command)}`, stdinPrefix: `${this.host.sudoPassword ?? ''}\n` };
    }
  }

  /** Opens an exec channel. Input given is written after the sudo password (if any). */
  async openExec(command: string, options: ExecOptions & { pty?: { cols: number; rows: number } } = {}): Promise<ClientChannel> {
    const client = this.requireClient();
    const wrapped = options.root ? this.privileged(command) : { command, stdinPrefix: '' };
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      const execOptions = options.pty ? { pty: { term: 'xterm-256color', cols: options.pty.cols, rows: options.pty.rows } } : {};
      client.exec(wrapped.command, execOptions, (error, stream) => (error ? reject(error) : resolve(stream)));
    });
    if (wrapped.stdinPrefix) channel.write(wrapped.stdinPrefix);
    if (options.input) channel.write(options.input);
    return channel;
  }

  /** An SFTP session on this connection (the host's sftp subsystem), e.g. to upload helper programs. */
  async sftp(): Promise<SFTPWrapper> {
    const client = this.requireClient();
    return new Promise((resolve, reject) => {
      client.sftp((error, sftp) =>
        error
          ? reject(new Error(`${this.label}: cannot open an SFTP session (${error.message}); enable it in the host's sshd_config: Subsystem sftp internal-sftp`))
          : resolve(sftp),
      );
    });
  }

  /** Runs a command to completion and collects its output (through a command channel). */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (options.input !== undefined) {
      const channel = await this.openExec(command, options);
      channel.end();
      return collect(channel, this.label, command, options.timeoutMs ?? 15_000);
    }
    return (await this.commandChannel(options.root ?? false)).exec(command, options.timeoutMs);
  }

  private commandChannel(root: boolean): Promise<CommandChannel> {
    const key = root ? 'root' : 'user';
    let channel = this.commandChannels.get(key);
    if (!channel) {
      channel = CommandChannel.open(this, root);
      this.commandChannels.set(key, channel);
      // A channel that failed or closed is opened afresh next time.
      channel.then(
        (c) => c,
        () => this.commandChannels.delete(key),
      );
    }
    return channel.then((c) => {
      if (!c.closed) return c;
      this.commandChannels.delete(key);
      return this.commandChannel(root);
    });
  }

  /** Like exec, but a non-zero exit is an error whose message carries stderr. */
  async run(command: string, options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(command, options);
    if (result.code !== 0) {
      const why = result.stderr.trim() || result.stdout.trim() || `exit ${result.code ?? result.signal}`;
      if (options.root && this.host.sudo !== 'none' && /sudo|password/i.test(why)) {
        throw new Error(`${this.label}: sudo refused (${why.split('\n')[0]}). Check the sudo setting and password for ${this.host.user}.`);
      }
      throw new Error(`${this.label}: \`${command.split('\n')[0]}\` failed: ${why}`);
    }
    return result.stdout;
  }

  close(): void {
    this.closedByUs = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.commandChannels.clear();
    this.client?.end();
    this.jumpClient?.end();
    if (!this.client) this.setStatus('closed');
  }
}

function collect(channel: ClientChannel, label: string, command: string, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      channel.close();
      reject(new Error(`${label}: \`${command.split('\n')[0]}\` did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    channel.on('data', (chunk: Buffer) => out.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    channel.on('close', (code: number | null, signal?: string) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, ...(signal ? { signal } : {}) });
    });
  });
}
