/**
 * Short commands over one long-lived exec channel per privilege level, instead of one exec
 * channel each. Every exec channel starts the login user's shell, which reads the user's rc
 * files: on real hosts (and on machines with pyenv, conda, nvm...) that costs up to a second a
 * command. Here the shell starts once; each command then runs as `bash <file>` (no rc files),
 * and results come back framed, with stdout and stderr base64-encoded. For root, sudo asks for
 * its password once per channel, not once per command.
 */
import type { ClientChannel } from 'ssh2';
import { shellQuote } from '../../shared/src/safe-values';
import { onLines } from './channel-lines';
import type { ExecResult, SshHost } from './ssh-host';

export const COMMAND_LOOP = `d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
echo @@ready
while IFS=' ' read -r id limit b64; do
  printf %s "$b64" | base64 -d > "$d/cmd"
  timeout "$limit" bash "$d/cmd" </dev/null >"$d/out" 2>"$d/err"; code=$?
  printf '@@result %s %s %s %s\\n' "$id" "$code" "$(base64 -w0 < "$d/out")" "$(base64 -w0 < "$d/err")"
done`;

interface Pending {
  resolve: (result: ExecResult) => void;
  reject: (error: Error) => void;
}

export class CommandChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWith: Error | undefined;

  private constructor(
    private readonly label: string,
    private readonly channel: ClientChannel,
  ) {}

  static async open(host: SshHost, root: boolean): Promise<CommandChannel> {
    const channel = await host.openExec(`bash -c ${shellQuote(COMMAND_LOOP)}`, { root });
    const commands = new CommandChannel(host.label, channel);
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      const stderr: string[] = [];
      channel.stderr.on('data', (chunk: Buffer) => {
        stderr.push(chunk.toString('utf8'));
        // sudo -S would wait for another try on a channel that never ends: stop at the first no.
        if (!ready && /try again|incorrect password/i.test(stderr.join(''))) channel.close();
      });
      const timer = setTimeout(() => {
        if (!ready) channel.close();
      }, 20_000);
      onLines(channel, (line) => {
        if (ready) return commands.onLine(line);
        // Whatever the login shell printed before (a motd without a newline) is not ours.
        if (!line.endsWith('@@ready')) return;
        ready = true;
        clearTimeout(timer);
        resolve();
      });
      channel.on('close', () => {
        clearTimeout(timer);
        const why = stderr.join('').trim();
        const error = new Error(
          root && host.host.sudo !== 'none' && (/sudo|password|try again/i.test(why) || !why)
            ? `${host.label}: sudo refused${why ? ` (${why.split('\n').pop()})` : ''}. Check the sudo setting and password for ${host.host.user}.`
            : `${host.label}: the command channel closed${why ? `: ${why}` : ''}`,
        );
        commands.fail(error);
        if (!ready) reject(error);
      });
    });
    return commands;
  }

  private onLine(line: string): void {
    const match = /^@@result (\d+) (\d+) ([A-Za-z0-9+/=]*) ([A-Za-z0-9+/=]*)$/.exec(line);
    if (!match) return;
    const pending = this.pending.get(Number(match[1]));
    this.pending.delete(Number(match[1]));
    pending?.resolve({
      code: Number(match[2]),
      stdout: Buffer.from(match[3] ?? '', 'base64').toString('utf8'),
      stderr: Buffer.from(match[4] ?? '', 'base64').toString('utf8'),
    });
  }

  private fail(error: Error): void {
    this.closedWith = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Runs one command; exit code 124 means it was stopped after timeoutMs. */
  exec(command: string, timeoutMs = 15_000): Promise<ExecResult> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
      this.channel.write(`${id} ${seconds} ${Buffer.from(command, 'utf8').toString('base64')}\n`);
    }).then((result) => {
      const r = result as ExecResult;
      if (r.code === 124) throw new Error(`${this.label}: \`${command.split('\n')[0]}\` did not finish within ${seconds(timeoutMs)} s`);
      return r;
    });
  }

  close(): void {
    this.channel.end();
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
