/**
 * ProxyJump (`ssh -J`): reaching a lab host through one jump host. The jump host gets its own
 * ssh2 connection, whose host key is checked against known_hosts in hostVerifier (during key
 * exchange, before any credential), exactly like the lab host's; a direct-tcpip channel from it
 * to the lab host's address and port (as the jump host sees them) then carries the lab host's
 * own SSH connection (ssh2's `sock`), end to end encrypted: the jump host only relays bytes.
 *
 * This module is the mechanics; ssh-host.ts builds the configuration (host-key check, auth) and
 * turns failures into HostConnectErrors that name the jump host.
 */
// ssh2 is CommonJS; Node's ESM loader cannot see its named exports, so take them off the default.
import ssh2, { type Client, type ClientChannel, type ConnectConfig } from 'ssh2';

export interface JumpTunnel {
  /** The connection to the jump host; ending it ends the tunnel. */
  client: Client;
  /** The channel to the lab host's SSH port: pass it as `sock` to the lab host's Client. */
  stream: ClientChannel;
}

/** Why the tunnel could not be opened: the jump host's own connection, or the channel through it. */
export class JumpTunnelError extends Error {
  constructor(
    readonly stage: 'connect' | 'forward',
    readonly reason: Error & { level?: string; code?: string },
  ) {
    super(reason.message);
  }
}

/**
 * Connects to the jump host with `config` (which carries its hostVerifier and credentials) and
 * opens a channel to `target`. On failure the jump connection is closed and the promise rejects
 * with a JumpTunnelError.
 */
export function openJumpTunnel(config: ConnectConfig, target: { address: string; port: number }): Promise<JumpTunnel> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    const fail = (stage: JumpTunnelError['stage'], error: Error): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(new JumpTunnelError(stage, error));
    };
    // Errors after the tunnel is up (keepalive timeout, reset) end in 'close', which the owner
    // watches; without a listener they would be thrown.
    client.on('error', (error: Error) => fail('connect', error));
    client.once('close', () => fail('connect', new Error('the jump host closed the connection')));
    client.once('ready', () => {
      // The originator address is informational for sshd; OpenSSH's -J sends the same.
      client.forwardOut('127.0.0.1', 0, target.address, target.port, (error, stream) => {
        if (error) {
          fail('forward', error);
          return;
        }
        if (settled) {
          stream.close();
          return;
        }
        settled = true;
        resolve({ client, stream });
      });
    });
    client.connect(config);
  });
}
