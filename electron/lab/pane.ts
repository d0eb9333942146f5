/**
 * A pane: an interactive PTY shell on a host, as in the article's upper and lower panels.
 *
 * The shell is started with its own prompt (`[16:28:53] H2# `) and without the user's dotfiles
 * (bash --norc --noprofile), so nothing on the host is changed and every pane looks the same.
 *
 * Output flows with back-pressure: consumers acknowledge bytes (as xterm's write callback
 * does); above HIGH_WATERMARK unacknowledged bytes the SSH channel is paused, below
 * LOW_WATERMARK it resumes. Nothing is dropped and nothing is buffered without bound.
 *
 * When sudo asks for a password (recognised by the SUDO_PROMPT we set), the pane answers it
 * itself; sudo has echo off, so the password never reaches the screen, the log or an event.
 */
import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import type { PaneName } from '../../shared/src/events';
import type { SshHost } from './ssh-host';

/**
 * What is unacknowledged is mostly in transit to the page (which acknowledges output on receipt
 * while its own queue is short), ahead of everything else on the way, an echo in another pane
 * too: 256 KiB is a few dozen milliseconds of a flood, where 1 MiB made echoes wait for it.
 */
export const HIGH_WATERMARK = 256 << 10;
export const LOW_WATERMARK = 96 << 10;
/**
 * Output that arrives in one I/O turn (a flood brings several SSH packets per socket read, most
 * a PTY read of 4 KiB or less) becomes one `data` event of up to this many bytes: one log line,
 * one message to the page and one xterm write instead of a dozen. Typing's echo is alone in its
 * turn, so it is not delayed (setImmediate runs right after the turn's I/O callbacks).
 */
export const MAX_EVENT_BYTES = 64 << 10;
/**
 * Output taken in one event-loop turn, at most; then the channel pauses until the next turn.
 * While a pane is paused, ssh2 keeps buffering what the host sends (its stream holds up to its
 * 2 MiB window), and on resume a Readable delivers all of it in one synchronous loop, each 64 KiB
 * through the session log and the relays: 6 MB in one turn in test/lab/engine.test.ts's flood.
 * A keystroke from the page, or the other host's echo of it, waited behind that (bench:ui's echo
 * during a flood: p95 104-164 ms in seven runs before, 65-119 ms in eight after; the rest was the
 * page's, see WRITE_PIECE_CHARS in renderer/src/terminals/write-queue.ts).
 */
export const TURN_BYTES = 128 << 10;
export const SUDO_PROMPT_MARK = '(TCP Lab enters it): ';

export function paneShellCommand(label: string): string {
  // \t is the time HH:MM:SS; \$ is # for root and $ otherwise. Labels are validated [A-Za-z0-9_-].
  const env = [
    `PS1='[\\t] ${label}\\$ '`,
    'HISTFILE=/dev/null',
    `SUDO_PROMPT='[sudo] password for %p ${SUDO_PROMPT_MARK}'`,
    'TERM=xterm-256color',
  ].join(' ');
  return `if command -v bash >/dev/null 2>&1; then exec env ${env} bash --noprofile --norc -i; else exec env ${env} sh -i; fi`;
}

export interface PaneEvents {
  /** bytes is what to acknowledge once the text is processed */
  data: [text: string, bytes: number];
  close: [reason: string];
}

export class Pane extends EventEmitter<PaneEvents> {
  private unacknowledged = 0;
  /** Paused for back-pressure (the consumers are behind). */
  private paused = false;
  /** Output taken this turn, and whether the channel waits for the next turn (TURN_BYTES). */
  private takenThisTurn = 0;
  private waitingForTurn = false;
  private readonly decoder = new TextDecoder('utf-8');
  private sudoWatch = '';
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  closed = false;

  private constructor(
    readonly host: SshHost,
    readonly name: PaneName,
    private readonly channel: ClientChannel,
    public cols: number,
    public rows: number,
  ) {
    super();
    channel.on('data', (chunk: Buffer) => this.onData(chunk));
    channel.stderr.on('data', (chunk: Buffer) => this.onData(chunk));
    channel.on('close', () => {
      this.flush();
      this.closed = true;
      this.emit('close', 'the shell ended');
    });
  }

  static async open(host: SshHost, name: PaneName, cols = 100, rows = 24): Promise<Pane> {
    const channel = await host.openExec(paneShellCommand(host.label), { pty: { cols, rows } });
    return new Pane(host, name, channel, cols, rows);
  }

  private onData(chunk: Buffer): void {
    this.unacknowledged += chunk.length;
    if (!this.paused && this.unacknowledged > HIGH_WATERMARK) {
      this.paused = true;
      this.channel.pause();
    }
    if (this.takenThisTurn === 0) setImmediate(() => this.nextTurn()); // after the next turn's I/O callbacks
    this.takenThisTurn += chunk.length;
    if (this.takenThisTurn >= TURN_BYTES && !this.waitingForTurn) {
      this.waitingForTurn = true;
      this.channel.pause();
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= MAX_EVENT_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private nextTurn(): void {
    this.takenThisTurn = 0;
    if (!this.waitingForTurn) return;
    this.waitingForTurn = false;
    if (!this.paused && !this.closed) this.channel.resume();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const bytes = this.pendingBytes;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, bytes);
    this.pending = [];
    this.pendingBytes = 0;
    const text = this.decoder.decode(chunk, { stream: true });
    this.answerSudo(text);
    this.emit('data', text, bytes);
  }

  private answerSudo(text: string): void {
    // Only the end matters: joining a whole chunk first would copy it (a flood's 64 KiB per event).
    this.sudoWatch = text.length >= 256 ? text.slice(-256) : (this.sudoWatch + text).slice(-256);
    if (this.sudoWatch.endsWith(SUDO_PROMPT_MARK)) {
      this.sudoWatch = '';
      const password = this.host.host.sudoPassword;
      // Written straight to the channel: never through write(), so never logged as input.
      if (password !== undefined) this.channel.write(`${password}\r`);
      else this.channel.write('\x03'); // no password configured: cancel rather than hang
    }
  }

  /** Consumers call this with the byte count of text they have fully processed. */
  acknowledge(bytes: number): void {
    this.unacknowledged = Math.max(0, this.unacknowledged - bytes);
    if (this.paused && this.unacknowledged < LOW_WATERMARK) {
      this.paused = false;
      if (!this.waitingForTurn) this.channel.resume();
    }
  }

  write(data: string): void {
    if (!this.closed) this.channel.write(data);
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.channel.setWindow(rows, cols, 0, 0);
  }

  close(): void {
    if (!this.closed) this.channel.close();
  }
}
