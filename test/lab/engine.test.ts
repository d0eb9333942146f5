import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIGH_WATERMARK, LOW_WATERMARK, MAX_EVENT_BYTES, Pane, TURN_BYTES } from '../../electron/lab/pane';
import { SshHost } from '../../electron/lab/ssh-host';
import { labDir } from '../../electron/lab/virtual-lab';
import type { ConnectionStatus } from '../../shared/src/events';
import { inHost, labHosts, skipReason } from './lab-env';

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Cuts H1's SSH connections from the host side, as a crashed network path would. */
function dropH1Connections(): void {
  inHost('H1', "ss -K -tn 'sport = :22'");
}

describe.skipIf(skipReason)('the engine against the virtual lab', () => {
  it('turns a dropped connection into events and reconnects with backoff', async () => {
    const hosts = await labHosts();
    const host = new SshHost(hosts.hosts.H1, { knownHostsFile: hosts.knownHostsFile }, { reconnect: true });
    const statuses: Array<{ status: ConnectionStatus; attempt?: number }> = [];
    host.on('status', (status, _detail, attempt) => statuses.push({ status, ...(attempt ? { attempt } : {}) }));
    await host.connect();
    dropH1Connections();
    await until(() => statuses.filter((s) => s.status === 'connected').length === 2, 20_000, 'the reconnect');
    expect(statuses.map((s) => s.status)).toEqual(['connecting', 'connected', 'disconnected', 'reconnecting', 'connecting', 'connected']);
    expect(statuses[3]).toEqual({ status: 'reconnecting', attempt: 1 });
    expect((await host.run('hostname')).trim()).toBe('H1');
    host.close();
  });

  it('never retries after an authentication failure', async () => {
    const hosts = await labHosts();
    const host = new SshHost(hosts.hosts.H1, { knownHostsFile: hosts.knownHostsFile }, { reconnect: true });
    const statuses: ConnectionStatus[] = [];
    host.on('status', (status) => statuses.push(status));
    await host.connect();
    const keys = join(labDir(), 'authorized_keys');
    renameSync(keys, `${keys}.away`); // the host stops accepting our key
    try {
      dropH1Connections();
      await until(() => statuses.includes('failed'), 20_000, 'the failed reconnect');
      await new Promise((r) => setTimeout(r, 4000)); // longer than the next backoff step
      expect(statuses).toEqual(['connecting', 'connected', 'disconnected', 'reconnecting', 'connecting', 'failed']);
    } finally {
      renameSync(`${keys}.away`, keys);
      host.close();
    }
  });

  it('opens a pane with the article\'s prompt, resizes it, and passes the sudo password unseen', async () => {
    const hosts = await labHosts();
    const host = new SshHost(hosts.hosts.H2, { knownHostsFile: hosts.knownHostsFile });
    await host.connect();
    const pane = await Pane.open(host, 'lower', 80, 24);
    let screen = '';
    pane.on('data', (text, bytes) => {
      screen += text;
      pane.acknowledge(bytes);
    });
    await until(() => /\[\d\d:\d\d:\d\d\] H2\$ $/.test(screen), 10_000, 'the prompt');
    pane.resize(120, 30);
    pane.write('stty size\r');
    await until(() => screen.includes('30 120'), 5000, 'the new size');
    pane.write('sudo id -u\r');
    await until(() => /\r\n0\r\n/.test(screen), 10_000, 'sudo to answer');
    expect(screen).toContain('(TCP Lab enters it)');
    expect(screen).not.toContain(hosts.hosts.H2.sudoPassword!);
    pane.close();
    host.close();
  });

  it('pauses a flooding pane while output is unacknowledged, and loses nothing', async () => {
    const hosts = await labHosts();
    const host = new SshHost(hosts.hosts.H2, { knownHostsFile: hosts.knownHostsFile });
    await host.connect();
    const pane = await Pane.open(host, 'upper');
    const total = 30_000_000;
    let received = 0;
    let unacknowledged = 0;
    let peakUnacknowledged = 0;
    let xs = 0;
    let tail = '';
    let acking = true;
    // Output taken per event-loop turn: a ticker that runs once a turn starts each count.
    let thisTurn = 0;
    let mostInOneTurn = 0;
    let ticking = true;
    const tick = (): void => {
      thisTurn = 0;
      if (ticking) setImmediate(tick);
    };
    tick();
    pane.on('data', (text, bytes) => {
      thisTurn += bytes;
      mostInOneTurn = Math.max(mostInOneTurn, thisTurn);
      received += bytes;
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 120) xs++;
      tail = (tail + text).slice(-200);
      if (acking) pane.acknowledge(bytes);
      else {
        unacknowledged += bytes;
        peakUnacknowledged = Math.max(peakUnacknowledged, unacknowledged);
      }
    });
    await until(() => tail.includes('H2$ '), 10_000, 'the prompt');
    xs = 0;
    acking = false; // a consumer that has stopped reading (a frozen renderer)
    pane.write(`head -c ${total} /dev/zero | tr '\\0' x; echo; echo FLOOD-DONE\r`);
    await new Promise((r) => setTimeout(r, 3000));
    const receivedWhilePaused = received;
    await new Promise((r) => setTimeout(r, 1000));
    expect(received).toBe(receivedWhilePaused); // the channel is paused: nothing more arrives
    expect(peakUnacknowledged).toBeGreaterThanOrEqual(HIGH_WATERMARK);
    expect(peakUnacknowledged).toBeLessThan(HIGH_WATERMARK + 512 * 1024); // bounded
    // The consumer catches up: everything flows again, and every byte arrives.
    acking = true;
    mostInOneTurn = 0;
    pane.acknowledge(unacknowledged);
    await until(() => tail.includes('FLOOD-DONE\r\n'), 60_000, 'the end of the flood');
    // What ssh2 buffered meanwhile (up to its 2 MiB window) comes in slices, a turn each, so
    // that a keystroke or another pane's output is not held up behind all of it.
    ticking = false;
    expect(mostInOneTurn).toBeGreaterThan(0);
    // A turn's slice, what the turn before left for its coalescing flush (under an event's
    // worth), and the SSH packet (32 KiB) that crossed the line. Without slices: 6 MB.
    expect(mostInOneTurn).toBeLessThanOrEqual(TURN_BYTES + MAX_EVENT_BYTES + 32 * 1024);
    expect(xs).toBe(total + 1); // every x, plus the one in the echoed command line (`tr '\0' x`)
    expect(LOW_WATERMARK).toBeLessThan(HIGH_WATERMARK);
    pane.close();
    host.close();
  });
});
