/**
 * Host preflight: probes a connected host for every tool experiments use (shared/src/preflight.ts
 * judges the answers). Three short commands on the host's command channels (one as the login
 * user, one for netcat, one as root) plus the clock estimate, so a check costs about a second.
 */
import { judgeHost, MISSING, type HostCheck } from '../../shared/src/preflight';
import { NETCAT_PROBE, parseNetcatProbe } from '../../shared/src/netcat';
import { estimateClockOffset } from './host-clock';
import type { ResolvedHosts } from './hosts-config';
import { HOST_LABELS } from './lab-session';
import { HostConnectError, SshHost } from './ssh-host';

/**
 * `probe CMD ARGS`: prints the command's first lines when it runs, else its error and the
 * MISSING marker, so an installed-but-broken tool (not executable, wrong architecture) is
 * reported with the shell's own words rather than as absent.
 */
const PROBE_FUNCTION = `probe() { out=$("$@" 2>&1 </dev/null) && printf '%s\\n' "$out" | head -2 || { printf '%s\\n' "$out" | head -1; echo ${MISSING}; }; }`;

/** As the login user: which OS (for install advice), who we are, ss and python3. */
export const USER_PROBE = [
  PROBE_FUNCTION,
  'echo @@os; ( . /etc/os-release 2>/dev/null; echo "${ID:-unknown} ${ID_LIKE:-}" )',
  'echo @@uid; id -u',
  'echo @@ss; probe ss -V',
  'echo @@python3; probe python3 --version',
].join('; ');

/**
 * As root: the firewall tools, tracefs with the tracepoint the tracer uses, tcpdump. sbin is
 * added to PATH because sudo's secure_path differs between distributions.
 */
export const ROOT_PROBE = [
  'PATH="$PATH:/usr/sbin:/sbin"',
  PROBE_FUNCTION,
  'echo @@iptables; probe iptables -V',
  'echo @@nft; probe nft --version',
  'echo @@tracefs; if [ -e /sys/kernel/tracing/events/sock/inet_sock_set_state ]; then echo ok; ' +
    'elif ! grep -qs " /sys/kernel/tracing tracefs" /proc/mounts; then echo "tracefs is not mounted"; ' +
    'else echo "this kernel has no sock:inet_sock_set_state tracepoint"; fi',
  'echo @@tcpdump; probe tcpdump --version',
].join('; ');

export interface CheckOptions {
  /** A clock offset already estimated on this connection (the session does it at connect). */
  clockOffsetMs?: number;
}

/** Checks one connected host. Never throws for a missing tool: that is what the result says. */
export async function checkHost(host: SshHost, options: CheckOptions = {}): Promise<HostCheck> {
  const resolved = host.host;
  const [user, netcat, root, clock] = await Promise.all([
    host.exec(USER_PROBE, { timeoutMs: 15_000 }),
    host.exec(NETCAT_PROBE, { timeoutMs: 15_000 }),
    host.exec(ROOT_PROBE, { root: true, timeoutMs: 15_000 }).then(
      (r) => (r.code === 0 ? { output: r.stdout } : { error: r.stderr.trim() || `exit ${r.code}` }),
      (error: unknown) => ({ error: (error as Error).message }),
    ),
    options.clockOffsetMs !== undefined
      ? Promise.resolve(options.clockOffsetMs)
      : estimateClockOffset(host).then(
          (c) => c.offsetMs,
          () => undefined,
        ),
  ]);
  const found = parseNetcatProbe(netcat.stdout);
  return judgeHost({
    host: host.label,
    address: resolved.address,
    user: resolved.user,
    userProbe: user.stdout,
    rootProbe: root,
    sudoConfigured: resolved.sudo,
    ...(clock !== undefined ? { clockOffsetMs: clock } : {}),
    ...(found ? { netcat: found } : {}),
  });
}

/** A host that could not be checked because it could not be reached or logged into. */
export interface UnreachableHost {
  host: string;
  address: string;
  user: string;
  error: string;
  /** For an unknown host key: what to accept. */
  fingerprint?: string;
}

/** Connects to both hosts of a hosts file, checks each, and disconnects (`tcplab check`). */
export async function checkHosts(hosts: ResolvedHosts, acceptedFingerprints: ReadonlySet<string> = new Set()): Promise<Array<HostCheck | UnreachableHost>> {
  return Promise.all(
    HOST_LABELS.map(async (label) => {
      const resolved = hosts.hosts[label];
      const host = new SshHost(resolved, { knownHostsFile: hosts.knownHostsFile, acceptedFingerprints });
      try {
        await host.connect();
        return await checkHost(host);
      } catch (error) {
        const fingerprint = error instanceof HostConnectError ? error.fingerprint : undefined;
        return { host: label, address: resolved.address, user: resolved.user, error: (error as Error).message, ...(fingerprint ? { fingerprint } : {}) };
      } finally {
        host.close();
      }
    }),
  );
}

/** The text `tcplab check` prints for one host. */
export function formatHostCheck(check: HostCheck | UnreachableHost): string {
  const head = `${check.host}  ${check.user}@${check.address}`;
  if ('error' in check) return `${head}\n  cannot check: ${check.error}`;
  const width = Math.max(...check.items.map((i) => i.name.length));
  const lines = check.items.map((item) => {
    const mark = item.ok ? 'ok  ' : item.severity === 'required' ? 'FAIL' : 'warn';
    return `  ${mark}  ${item.name.padEnd(width)}  ${item.detail}${item.ok || !item.fix ? '' : `\n        ${' '.repeat(width)}  fix: ${item.fix}`}`;
  });
  return [`${head}  (${check.os})`, ...lines].join('\n');
}

/** Whether every required item of every host passed (warnings allowed). */
export function allRequiredPass(checks: Array<HostCheck | UnreachableHost>): boolean {
  return checks.every((c) => !('error' in c) && c.items.every((i) => i.ok || i.severity === 'optional'));
}
