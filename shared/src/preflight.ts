/**
 * Host preflight (`tcplab check`, the app's Check panel, and the gate before every run): what a
 * host has of the tools experiments use, each missing one with the one command that fixes it.
 *
 * The engine (electron/lab/preflight.ts) runs two probe scripts per host, one as the login user
 * and one as root, each printing `@@<section>` blocks; everything here is pure: parsing those
 * blocks, judging each item, the fix for the host's package manager, and which items an
 * experiment needs (so a run refuses to start on a host that lacks one, naming it).
 */
import type { Experiment, Step } from './experiment-schema';

export const CHECK_ITEMS = ['ss', 'netcat', 'iptables', 'sudo', 'tracefs', 'tcpdump', 'python3', 'clock'] as const;
export type CheckItemName = (typeof CHECK_ITEMS)[number];

export type SudoKind = 'none-needed' | 'passwordless' | 'with-password';

export interface CheckItem {
  name: CheckItemName;
  ok: boolean;
  /** What was found ("iptables v1.8.9 (nf_tables)") or what is wrong, in a lab assistant's words. */
  detail: string;
  /** One command that fixes a failing item, for this host's package manager where it matters. */
  fix?: string;
  /** Items that only degrade a run (polling instead of tracing, no packets) are warnings. */
  severity: 'required' | 'optional';
}

export interface HostCheck {
  host: string;
  address: string;
  user: string;
  os: string;
  items: CheckItem[];
  /** The netcat found and its flavor, when one TCP Lab knows is installed. */
  netcat?: { command: string; flavor: string };
  sudo?: SudoKind;
  iptablesBackend?: 'nf_tables' | 'legacy';
  clockOffsetMs?: number;
}

/** Clocks further apart than this make the prompts' times disagree visibly with the timeline. */
export const CLOCK_WARN_MS = 1000;

/** Splits probe output into `@@name` sections (name -> text without the marker line). */
export function probeSections(output: string): Map<string, string> {
  const sections = new Map<string, string>();
  for (const part of `\n${output}`.split('\n@@').slice(1)) {
    const newline = part.indexOf('\n');
    const name = (newline < 0 ? part : part.slice(0, newline)).trim();
    sections.set(name, newline < 0 ? '' : part.slice(newline + 1).trim());
  }
  return sections;
}

/** The marker a probe prints when a command is absent (see electron/lab/preflight.ts). */
export const MISSING = '@missing';

type PackageManager = 'apt-get' | 'dnf' | 'apk' | 'pacman' | 'zypper';

/** The package manager of an /etc/os-release `ID ID_LIKE` line, or undefined for one we do not know. */
export function packageManager(os: string): PackageManager | undefined {
  const words = os.toLowerCase().split(/[\s"]+/);
  if (words.some((w) => ['debian', 'ubuntu', 'raspbian', 'linuxmint', 'pop'].includes(w))) return 'apt-get';
  if (words.some((w) => ['fedora', 'rhel', 'centos', 'rocky', 'almalinux'].includes(w))) return 'dnf';
  if (words.includes('alpine')) return 'apk';
  if (words.some((w) => ['arch', 'manjaro'].includes(w))) return 'pacman';
  if (words.some((w) => w.startsWith('opensuse') || w === 'suse' || w === 'sles')) return 'zypper';
  return undefined;
}

/** Package names per manager for the tools TCP Lab installs advice for. */
const PACKAGES: Record<'ss' | 'netcat' | 'iptables' | 'tcpdump' | 'python3' | 'sudo', Record<PackageManager, string>> = {
  ss: { 'apt-get': 'iproute2', dnf: 'iproute', apk: 'iproute2', pacman: 'iproute2', zypper: 'iproute2' },
  netcat: { 'apt-get': 'netcat-openbsd', dnf: 'nmap-ncat', apk: 'netcat-openbsd', pacman: 'openbsd-netcat', zypper: 'netcat-openbsd' },
  iptables: { 'apt-get': 'iptables', dnf: 'iptables-nft', apk: 'iptables', pacman: 'iptables-nft', zypper: 'iptables' },
  tcpdump: { 'apt-get': 'tcpdump', dnf: 'tcpdump', apk: 'tcpdump', pacman: 'tcpdump', zypper: 'tcpdump' },
  python3: { 'apt-get': 'python3', dnf: 'python3', apk: 'python3', pacman: 'python', zypper: 'python3' },
  sudo: { 'apt-get': 'sudo', dnf: 'sudo', apk: 'sudo', pacman: 'sudo', zypper: 'sudo' },
};

const INSTALL: Record<PackageManager, string> = {
  'apt-get': 'apt-get install -y',
  dnf: 'dnf install -y',
  apk: 'apk add',
  pacman: 'pacman -S --noconfirm',
  zypper: 'zypper install -y',
};

/** `sudo apt-get install -y tcpdump` (without sudo for a root login). */
export function installCommand(tool: keyof typeof PACKAGES, os: string, asRoot: boolean): string {
  const manager = packageManager(os) ?? 'apt-get';
  return `${asRoot ? '' : 'sudo '}${INSTALL[manager]} ${PACKAGES[tool][manager]}`;
}

export interface ProbeOutputs {
  host: string;
  address: string;
  user: string;
  /** The user-level probe's output (always run). */
  userProbe: string;
  /** The root probe's output, or why it could not run (sudo refused). */
  rootProbe: { output: string } | { error: string };
  /** How sudo is configured for this host in the hosts file. */
  sudoConfigured: 'none' | 'passwordless' | 'password';
  /** `sudo -n true` succeeded (only asked when the login is not root). */
  clockOffsetMs?: number;
  /** The flavor of the first netcat found (classified by the engine, which knows the flavors). */
  netcat?: { command: string; flavor: string };
}

/** Judges every item of a host from its probe outputs. */
export function judgeHost(probe: ProbeOutputs): HostCheck {
  const user = probeSections(probe.userProbe);
  const os = user.get('os') ?? 'unknown';
  const uid = Number((user.get('uid') ?? '').trim());
  const isRoot = uid === 0;
  const root = 'output' in probe.rootProbe ? probeSections(probe.rootProbe.output) : undefined;
  const rootError = 'error' in probe.rootProbe ? probe.rootProbe.error : undefined;
  const items: CheckItem[] = [];
  const install = (tool: keyof typeof PACKAGES): string => installCommand(tool, os, isRoot);
  const found = (text: string | undefined): text is string => text !== undefined && text !== '' && !text.includes(MISSING);

  const ss = user.get('ss');
  items.push(found(ss) ? { name: 'ss', ok: true, severity: 'required', detail: firstLine(ss) } : { name: 'ss', ok: false, severity: 'required', detail: unusable('ss (iproute2)', ss, 'states cannot be observed'), fix: install('ss') });

  // sudo: the engine needs root for the tracer, the firewall and sysctls.
  let sudo: SudoKind | undefined;
  if (isRoot) {
    sudo = 'none-needed';
    items.push({ name: 'sudo', ok: true, severity: 'required', detail: 'none needed: the login is root' });
  } else if (rootError === undefined) {
    sudo = probe.sudoConfigured === 'password' ? 'with-password' : 'passwordless';
    items.push({ name: 'sudo', ok: true, severity: 'required', detail: sudo === 'passwordless' ? 'passwordless sudo works' : 'sudo with the configured password works' });
  } else {
    const noSudo = /not found|No such file/i.test(rootError);
    items.push({
      name: 'sudo',
      ok: false,
      severity: 'required',
      detail: noSudo ? 'sudo is not installed and the login is not root' : `sudo refused: ${firstLine(rootError)}`,
      fix: noSudo
        ? `as root: ${installCommand('sudo', os, true)} && usermod -aG sudo ${probe.user}`
        : probe.sudoConfigured === 'none'
          ? `set sudo: passwordless or sudo: password for ${probe.host} in the hosts file (the login ${probe.user} is not root)`
          : `as root: usermod -aG sudo ${probe.user}   (then check the sudo password in the hosts file)`,
    });
  }

  const netcat = probe.netcat;
  const python = user.get('python3');
  const pythonOk = found(python) && /Python 3\./.test(python);
  items.push(
    netcat
      ? { name: 'netcat', ok: true, severity: 'required', detail: `${netcat.command} is ${netcat.flavor} netcat` }
      : {
          name: 'netcat',
          ok: pythonOk,
          severity: 'required',
          detail: pythonOk ? 'no netcat TCP Lab knows; nc steps run the tcp-peer helper (python3) instead' : 'no netcat TCP Lab knows (OpenBSD, ncat, traditional, BusyBox) and no python3 for the helper',
          fix: install('netcat'),
        },
  );
  items.push(pythonOk ? { name: 'python3', ok: true, severity: 'required', detail: firstLine(python) } : { name: 'python3', ok: false, severity: 'required', detail: unusable('python3', python, 'experiments with helper programs cannot run here'), fix: install('python3') });

  let iptablesBackend: HostCheck['iptablesBackend'];
  const rootItem = (name: CheckItemName, severity: CheckItem['severity'], judge: (text: string | undefined) => Omit<CheckItem, 'name' | 'severity'>): void => {
    if (!root) items.push({ name, ok: false, severity, detail: 'not checked: needs root, and sudo was refused', fix: 'fix sudo first (see the sudo item)' });
    else items.push({ name, severity, ...judge(root.get(name)) });
  };
  rootItem('iptables', 'required', (text) => {
    if (!found(text)) {
      const nft = root?.get('nft');
      return {
        ok: false,
        detail: found(nft) ? `iptables is not installed (nft is: ${firstLine(nft)}); TCP Lab writes iptables rules (the nft backend is fine)` : 'neither iptables nor nft is installed: firewall steps cannot run',
        fix: install('iptables'),
      };
    }
    iptablesBackend = /nf_tables/.test(text) ? 'nf_tables' : 'legacy';
    return { ok: true, detail: `${firstLine(text)}${iptablesBackend === 'nf_tables' ? ' (the nft backend)' : ''}` };
  });
  rootItem('tracefs', 'optional', (text) =>
    text?.trim() === 'ok'
      ? { ok: true, detail: 'tracefs is mounted with the sock:inet_sock_set_state tracepoint: every transition is seen' }
      : {
          ok: false,
          detail: `${text && text !== MISSING ? `${firstLine(text)}; ` : ''}states are polled with ss every 200 ms instead of traced: short states can be missed`,
          fix: `${isRoot ? '' : 'sudo '}mount -t tracefs nodev /sys/kernel/tracing`,
        },
  );
  rootItem('tcpdump', 'optional', (text) =>
    found(text) ? { ok: true, detail: firstLine(text) } : { ok: false, detail: unusable('tcpdump', text, 'runs record no packets'), fix: install('tcpdump') },
  );

  if (probe.clockOffsetMs === undefined) {
    items.push({ name: 'clock', ok: false, severity: 'optional', detail: 'the clock offset could not be estimated' });
  } else {
    const offset = probe.clockOffsetMs;
    const ok = Math.abs(offset) <= CLOCK_WARN_MS;
    items.push({
      name: 'clock',
      ok,
      severity: 'optional',
      detail: `${offset >= 0 ? '+' : ''}${offset.toFixed(1)} ms from this machine${ok ? '' : ' (the timeline corrects it, but the prompts\' times will disagree with this machine)'}`,
      ...(ok ? {} : { fix: `${isRoot ? '' : 'sudo '}timedatectl set-ntp true` }),
    });
  }

  items.sort((a, b) => CHECK_ITEMS.indexOf(a.name) - CHECK_ITEMS.indexOf(b.name));
  return {
    host: probe.host,
    address: probe.address,
    user: probe.user,
    os: os.split('\n')[0] ?? os,
    items,
    ...(netcat ? { netcat } : {}),
    ...(sudo ? { sudo } : {}),
    ...(iptablesBackend ? { iptablesBackend } : {}),
    ...(probe.clockOffsetMs !== undefined ? { clockOffsetMs: probe.clockOffsetMs } : {}),
  };
}

/** Why a probed tool is unusable: the shell's own words when it said more than "not found". */
function unusable(tool: string, text: string | undefined, consequence: string): string {
  const said = (text ?? '').replace(MISSING, '').trim().split('\n')[0] ?? '';
  if (said === '' || /not found|No such file/i.test(said)) return `${tool} is not installed: ${consequence}`;
  return `${tool} is installed but does not run (${said.replace(/^.*?: line \d+: /, '')}): ${consequence}`;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** An item a host must pass for an experiment, and which step needs it. */
export interface Requirement {
  item: CheckItemName;
  why: string;
}

/** Which step kinds run on which host (by role or label). */
export type RoleMap = { client: 'H1' | 'H2'; server: 'H1' | 'H2' };

function stepHost(step: Step, roles: RoleMap): 'H1' | 'H2' | undefined {
  const on = 'host' in step ? step.host : undefined;
  if (on === undefined) return undefined;
  if (on === 'client' || on === 'server') return roles[on];
  return on === 'H1' || on === 'H2' ? on : undefined;
}

/**
 * What each host needs for an experiment. Every host needs ss and sudo (the session itself uses
 * them); firewall and delay steps need iptables; helper and delay steps need python3; nc steps
 * need a netcat or python3 (the `netcat` item already passes when python3 can stand in).
 */
export function requirementsOf(experiment: Experiment, roles: RoleMap): Record<'H1' | 'H2', Requirement[]> {
  const needs: Record<'H1' | 'H2', Requirement[]> = {
    H1: [
      { item: 'ss', why: 'observing states' },
      { item: 'sudo', why: 'tracing, firewall rules and cleanup' },
    ],
    H2: [
      { item: 'ss', why: 'observing states' },
      { item: 'sudo', why: 'tracing, firewall rules and cleanup' },
    ],
  };
  const add = (label: 'H1' | 'H2' | undefined, item: CheckItemName, why: string): void => {
    for (const host of label ? [label] : (['H1', 'H2'] as const)) {
      if (!needs[host].some((r) => r.item === item)) needs[host].push({ item, why });
    }
  };
  experiment.steps.forEach((step, index) => {
    const where = stepHost(step, roles);
    const which = `step ${index + 1}`;
    if ('firewall' in step) add(where, 'iptables', `${which} (a firewall rule)`);
    if ('delay' in step) {
      add(where, 'iptables', `${which} (delaying packets)`);
      add(where, 'python3', `${which} (the delay helper)`);
    }
    if ('helper' in step) add(where, 'python3', `${which} (helper ${step.helper})`);
    if ('nc' in step) add(where, 'netcat', `${which} (netcat)`);
  });
  return needs;
}

/** Why a run cannot start on these hosts, or undefined when every host passes what it needs. */
export function refusal(checks: HostCheck[], needs: Record<string, Requirement[]>, experimentId: string): string | undefined {
  const problems: string[] = [];
  for (const check of checks) {
    for (const need of needs[check.host] ?? []) {
      const item = check.items.find((i) => i.name === need.item);
      if (item && !item.ok) problems.push(`${check.host} fails "${item.name}", needed for ${need.why}: ${item.detail}${item.fix ? `. Fix: ${item.fix}` : ''}`);
    }
  }
  return problems.length === 0 ? undefined : `${experimentId} cannot start: ${problems.join('; ')}`;
}
