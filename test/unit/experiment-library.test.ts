/**
 * The experiment library without hosts: every built-in file is valid and complete, the new step
 * kinds refuse bad input with a message and a line, and the pieces the runner relies on (ledger
 * parsing, kernel counters, judging, step summaries, helpers) behave. The library's behaviour on
 * real hosts is tested in test/lab/library.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_EXPERIMENTS_DIR, builtinExperiments } from '../../electron/lab/builtin-experiments';
import {
  availableHelpers,
  classifyNetcat,
  describeStep,
  HELPERS_DIR,
  judge,
  judgeNoConnection,
  netcatHelperArgs,
  parseLedger,
  parseNetCounters,
  procSysPath,
  renderNetcat,
  runDirectory,
  type NetcatCall,
} from '../../electron/lab/experiment-runner';
import { parseExperiment } from '../../shared/src/experiment-file';
import { READABLE_SYSCTLS, TUNABLE_SYSCTLS, type Step } from '../../shared/src/experiment-schema';
import type { ConnectionHistory } from '../../shared/src/reconcile';
import type { TcpState } from '../../shared/src/tcp-states';

const LIBRARY = [
  'normal-teardown',
  'lost-fin',
  'close-wait',
  'fin-wait-2',
  'time-wait',
  'last-ack',
  'syn-sent',
  'syn-recv',
  'reset-closed-port',
  'closing',
  'reset-after-last-ack',
  'half-close-download',
  'close-wait-leak',
];

/** A minimal valid experiment around the given steps (YAML lines, indented as list items). */
function experimentWith(stepLines: string[]): string {
  return ['id: probe', 'title: t', 'summary: s', 'explanation: e', 'steps:', ...stepLines, 'expect:', '  client: { passes: [ESTABLISHED] }', ''].join('\n');
}

function errorsOf(stepLines: string[]): string {
  const parsed = parseExperiment(experimentWith(stepLines), 'probe.yaml');
  if (parsed.ok) throw new Error(`expected errors, got a valid experiment: ${JSON.stringify(parsed.value.steps)}`);
  return parsed.message;
}

function history(...states: TcpState[]): ConnectionHistory {
  return { local: '198.18.77.1:40000', remote: '198.18.77.2:7777', states: states.map((state, i) => ({ state, hostTimeUs: i, seen: 'trace' })) };
}

describe('the built-in experiments', () => {
  const experiments = builtinExperiments();

  it('cover every experiment of the library, one file each, named by id', () => {
    expect(experiments.map((e) => e.id).sort()).toEqual([...LIBRARY].sort());
    for (const e of experiments) expect(readFileSync(join(BUILTIN_EXPERIMENTS_DIR, `${e.id}.yaml`), 'utf8')).toContain(`id: ${e.id}`);
  });

  it.each(LIBRARY)('%s explains itself to students and promises states on the hosts it involves', (id) => {
    const e = experiments.find((x) => x.id === id)!;
    expect(e.explanation).toMatch(/\bWatch for\b/);
    expect(e.summary.length).toBeLessThan(200);
    expect(Object.keys(e.expect).length).toBeGreaterThanOrEqual(1);
    for (const expectation of Object.values(e.expect)) expect(expectation.noConnection === true || (expectation.passes?.length ?? 0) > 0).toBe(true);
    // Roles, not host labels, so the experiment runs with the roles swapped.
    for (const step of e.steps) {
      const host = 'wait' in step ? step.wait.host : 'host' in step ? step.host : undefined;
      if (host !== undefined) expect(['client', 'server']).toContain(host);
    }
    // The port comes from {port}, so a run on another port changes every command with it.
    const texts = e.steps.flatMap((s) => ('run' in s ? [s.run] : 'helper' in s ? s.args : []));
    expect(texts.some((t) => /\b7777\b/.test(t))).toBe(false);
  });

  it('use only helpers that ship, and the delay step\'s own helper ships too', () => {
    const helpers = availableHelpers();
    for (const e of experiments) {
      for (const step of e.steps) {
        if ('helper' in step) expect(helpers).toContain(step.helper);
      }
    }
    expect(helpers).toContain('nfqueue-delay');
  });

  it('put every host change in a declarative step: no free-text sudo, sysctl or iptables', () => {
    for (const e of experiments) {
      for (const step of e.steps) {
        const text = 'run' in step ? step.run : 'type' in step ? step.type : '';
        expect(text).not.toMatch(/\b(sudo|sysctl|iptables|nft|tc)\b/);
      }
    }
  });
});

describe('the step kinds for helpers, sysctls, reads and delays', () => {
  it('accepts each kind with its defaults', () => {
    const parsed = parseExperiment(
      experimentWith([
        '  - { host: server, helper: leaky-server, args: [--port, "{port}", --count, 3] }',
        '  - { host: client, sysctl: { name: net.ipv4.tcp_fin_timeout, value: 5 } }',
        '  - { host: client, show: { sysctl: net.ipv4.tcp_syn_linear_timeouts } }',
        '  - { host: client, show: { counters: [TcpOutRsts, TcpExtTCPTimeWaitOverflow] } }',
        '  - { host: client, delay: { chain: OUTPUT, dport: "{port}", by: 1s } }',
        '  - wait: { host: server, state: CLOSE_WAIT, count: 3 }',
      ]),
      'ok.yaml',
    );
    if (!parsed.ok) throw new Error(parsed.message);
    const [helper, sysctl, show, counters, delay, wait] = parsed.value.steps as Step[];
    expect(helper).toEqual({ host: 'server', pane: 'upper', helper: 'leaky-server', args: ['--port', '{port}', '--count', '3'] });
    expect(sysctl).toMatchObject({ pane: 'lower', sysctl: { name: 'net.ipv4.tcp_fin_timeout', value: 5 } });
    expect(show).toMatchObject({ pane: 'lower', show: { sysctl: 'net.ipv4.tcp_syn_linear_timeouts' } });
    expect(counters).toMatchObject({ show: { counters: ['TcpOutRsts', 'TcpExtTCPTimeWaitOverflow'] } });
    expect(delay).toMatchObject({ pane: 'lower', delay: { chain: 'OUTPUT', protocol: 'tcp', dport: '{port}', by: '1s' } });
    expect(wait).toMatchObject({ wait: { count: 3, timeout: '10s' } });
  });

  it('refuses a sysctl outside the allowlist, naming the ones allowed, at its line', () => {
    const message = errorsOf(['  - host: client', '    sysctl: { name: kernel.panic, value: 1 }']);
    expect(message).toMatch(/^probe\.yaml:7:\d+: steps\[0\]\.sysctl\.name: must be one of net\.ipv4\.tcp_fin_timeout, /);
  });

  it('refuses a sysctl value outside its range, saying the range', () => {
    expect(errorsOf(['  - host: client', '    sysctl: { name: net.ipv4.tcp_fin_timeout, value: 0 }'])).toContain(
      'steps[0].sysctl.value: net.ipv4.tcp_fin_timeout must be from 1 to 600 (got 0)',
    );
  });

  it('refuses shell characters and unknown placeholders in helper arguments', () => {
    expect(errorsOf(['  - { host: server, helper: leaky-server, args: ["--port;reboot"] }'])).toContain(
      'steps[0].args[0]: "--port;reboot" contains characters a helper argument may not have; use letters, digits and - _ . : / = , only',
    );
    expect(errorsOf(['  - { host: server, helper: leaky-server, args: ["{prot}"] }'])).toContain('unknown placeholder {prot}; known: {port}');
    expect(errorsOf(['  - { host: server, helper: "../../bin/sh" }'])).toContain('must be the name of a helper in resources/helpers/');
  });

  it('refuses a delay that matches no port or lasts too long', () => {
    expect(errorsOf(['  - { host: client, delay: { chain: OUTPUT, by: 1s } }'])).toContain('a rule must match a port');
    expect(errorsOf(['  - { host: client, delay: { chain: OUTPUT, dport: 7777, by: 20s } }'])).toContain('steps[0].delay.by: must delay by 10ms to 10s');
    expect(errorsOf(['  - { host: client, delay: { chain: OUTPUT, dport: 7777, by: soon } }'])).toContain('must be a duration such as 250ms, 2s or 1min');
  });

  it('refuses counters that are not kernel counter names', () => {
    expect(errorsOf(['  - { host: client, show: { counters: ["TcpOutRsts; reboot"] } }'])).toContain('must be a kernel counter as nstat names it');
  });

  it('lets show read every tunable, and more', () => {
    for (const name of Object.keys(TUNABLE_SYSCTLS)) expect(READABLE_SYSCTLS).toContain(name);
  });
});

describe('the runner\'s pieces', () => {
  it('reads a ledger, ignoring anything outside the allowlist or not a whole number', () => {
    const text = [
      '# TCP Lab: what session 0123abcd changed on this host, to undo',
      'sysctl net.ipv4.tcp_fin_timeout 60',
      'sysctl kernel.panic 1',
      'sysctl net.ipv4.tcp_max_tw_buckets 131072',
      'sysctl net.ipv4.tcp_syn_retries 6; reboot',
      'sysctl net.ipv4.tcp_synack_retries -1',
      'sysctl __proto__ 1',
      'firewall whatever',
    ].join('\n');
    expect(parseLedger(text)).toEqual([
      { name: 'net.ipv4.tcp_fin_timeout', value: '60' },
      { name: 'net.ipv4.tcp_max_tw_buckets', value: '131072' },
    ]);
  });

  it('maps sysctl names to /proc/sys paths and sessions to run directories', () => {
    expect(procSysPath('net.ipv4.tcp_fin_timeout')).toBe('/proc/sys/net/ipv4/tcp_fin_timeout');
    expect(runDirectory('0123abcd', 'H2')).toBe('/tmp/tcplab-0123abcd-h2');
  });

  it('reads kernel counters from /proc/net/snmp and /proc/net/netstat as nstat names them', () => {
    const text = [
      'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors',
      'Tcp: 1 200 120000 -1 379 51 2 10 1 102812 89929 31 0 201 0',
      'IcmpMsg: InType3',
      'IcmpMsg: 1',
      'TcpExt: SyncookiesSent TW TCPTimeWaitOverflow',
      'TcpExt: 0 162 4',
    ].join('\n');
    const counters = parseNetCounters(text);
    expect(counters.get('TcpOutRsts')).toBe('201');
    expect(counters.get('TcpMaxConn')).toBe('-1');
    expect(counters.get('TcpAttemptFails')).toBe('2');
    expect(counters.get('TcpExtTCPTimeWaitOverflow')).toBe('4');
    expect(counters.get('IcmpMsgInType3')).toBe('1');
  });

  it('judges a promise on at least N connections', () => {
    const leaked = [history('ESTABLISHED', 'CLOSE_WAIT'), history('ESTABLISHED', 'CLOSE_WAIT'), history('ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED')];
    expect(judge(leaked, ['ESTABLISHED', 'CLOSE_WAIT'], 'CLOSE_WAIT', 2)).toBeUndefined();
    expect(judge(leaked, ['ESTABLISHED', 'CLOSE_WAIT'], 'CLOSE_WAIT', 3)).toMatch(/^expected 3 connections to pass ESTABLISHED -> CLOSE_WAIT ending in CLOSE_WAIT, 2 did; observed /);
    expect(judge([], ['SYN_SENT'])).toBe('expected SYN_SENT; observed no connection on the port');
  });

  it('judges a noConnection promise: kept with no connection, broken by any, naming each', () => {
    expect(judgeNoConnection('H2', [], 7777)).toBeUndefined();
    const h = history('LISTEN', 'SYN_RECV');
    expect(judgeNoConnection('H2', [h], 7777)).toBe(`expected no connection on H2's port 7777, but saw 1: ${h.local} -> ${h.remote} (LISTEN, SYN_RECV)`);
  });

  it('accepts noConnection only on its own, and asks for passes otherwise, with the line', () => {
    const base = 'id: x\ntitle: t\nsummary: s\nexplanation: e\nsteps:\n  - note: n\nexpect:\n';
    expect(parseExperiment(`${base}  server: { noConnection: true }\n`, 'x.yaml').ok).toBe(true);
    const both = parseExperiment(`${base}  server: { noConnection: true, endsIn: CLOSED }\n`, 'x.yaml');
    expect(both.ok ? '' : both.message).toMatch(/x\.yaml:8:\d+: expect\.server\.noConnection: noConnection: true stands alone/);
    const neither = parseExperiment(`${base}  server: { endsIn: CLOSED }\n`, 'x.yaml');
    expect(neither.ok ? '' : neither.message).toMatch(/x\.yaml:8:\d+: expect\.server\.passes: give passes: \[STATE, \.\.\.\]/);
  });

  it('summarizes every step kind starting with its host, as the app\'s step list expects', () => {
    const steps: Step[] = [
      { host: 'server', pane: 'upper', helper: 'leaky-server', args: ['--port', '{port}'] },
      { host: 'client', pane: 'lower', sysctl: { name: 'net.ipv4.tcp_max_tw_buckets', value: 0 } },
      { host: 'client', pane: 'lower', show: { counters: ['TcpOutRsts'] } },
      { host: 'client', pane: 'lower', delay: { chain: 'OUTPUT', protocol: 'tcp', dport: '{port}', by: '1s' } },
    ];
    expect(steps.map(describeStep)).toEqual([
      'server upper: helper leaky-server --port {port}',
      'client lower: set net.ipv4.tcp_max_tw_buckets to 0 (restored afterwards)',
      'client lower: show TcpOutRsts',
      'client firewall: OUTPUT delay 1s',
    ]);
    expect(describeStep({ wait: { host: 'server', state: 'CLOSE_WAIT', count: 20, timeout: '15s' } })).toBe('wait until server has 20 connections in CLOSE_WAIT');
    expect(describeStep({ wait: { host: 'server', state: 'LISTEN', count: 1, timeout: '10s' } })).toBe('wait until server is LISTEN');
  });
});

describe('netcat by intent', () => {
  const listen: NetcatCall = { mode: { listen: 7777 }, endOfInput: 'nothing', peerClose: 'exit', verbose: false, output: 'show' };
  const connect: NetcatCall = { mode: { connect: '198.18.77.2', port: 7777 }, endOfInput: 'nothing', peerClose: 'stay', verbose: false, output: 'show' };

  it('tells the four flavors apart by their help text', () => {
    expect(classifyNetcat('OpenBSD netcat (Debian patchlevel 1.219-1)\nusage: nc [-46CDdFhklNnrStUuvZz]')).toBe('openbsd');
    expect(classifyNetcat('Ncat 7.93 ( https://nmap.org/ncat )\nUsage: ncat [options] [hostname] [port]')).toBe('ncat');
    expect(classifyNetcat('[v1.10-47]\nconnect to somewhere:\tnc [-options] hostname port[s] [ports] ...')).toBe('traditional');
    expect(classifyNetcat('BusyBox v1.36.1 (2023-07-27) multi-call binary.\n\nUsage: nc [OPTIONS] HOST PORT')).toBe('busybox');
    expect(classifyNetcat('bash: nc: command not found')).toBeUndefined();
  });

  it('renders the article\'s commands for OpenBSD netcat', () => {
    expect(renderNetcat('openbsd', 'nc', listen)).toEqual(['nc', '-l', '7777']);
    expect(renderNetcat('openbsd', 'nc', connect)).toEqual(['nc', '198.18.77.2', '7777']);
    expect(renderNetcat('openbsd', 'nc', { ...listen, endOfInput: 'half-close' })).toEqual(['nc', '-N', '-l', '7777']);
    expect(renderNetcat('openbsd', 'nc', { ...connect, endOfInput: 'half-close', output: 'count' })).toEqual(['nc', '-N', '198.18.77.2', '7777', '|', 'wc', '-c']);
    expect(renderNetcat('openbsd', 'nc', { ...connect, verbose: true })).toEqual(['nc', '-v', '198.18.77.2', '7777']);
  });

  it('leaves to the helper what a flavor cannot do', () => {
    // OpenBSD's listener always exits once the peer has closed; its client never does on its own.
    expect(renderNetcat('openbsd', 'nc', { ...listen, peerClose: 'stay' })).toBeUndefined();
    expect(renderNetcat('openbsd', 'nc', { ...connect, peerClose: 'exit' })).toBeUndefined();
    // The others exit when the peer closes, so a client that stays in CLOSE_WAIT needs the helper.
    for (const flavor of ['ncat', 'traditional', 'busybox'] as const) expect(renderNetcat(flavor, 'nc', connect)).toBeUndefined();
    // Traditional and BusyBox netcat cannot half-close.
    for (const flavor of ['traditional', 'busybox'] as const) expect(renderNetcat(flavor, 'nc', { ...listen, endOfInput: 'half-close' })).toBeUndefined();
  });

  it('renders what the other flavors can do in their own options', () => {
    expect(renderNetcat('ncat', 'ncat', listen)).toEqual(['ncat', '--no-shutdown', '-l', '7777']);
    expect(renderNetcat('ncat', 'ncat', { ...listen, endOfInput: 'half-close' })).toEqual(['ncat', '-l', '7777']);
    expect(renderNetcat('traditional', 'nc', { ...listen, verbose: true })).toEqual(['nc', '-v', '-l', '-p', '7777']);
    expect(renderNetcat('busybox', 'nc', { ...listen, verbose: true })).toEqual(['nc', '-l', '-p', '7777']);
    expect(renderNetcat('busybox', 'nc', { ...connect, peerClose: 'exit' })).toEqual(['nc', '198.18.77.2', '7777']);
  });

  it('gives the helper every behaviour explicitly', () => {
    expect(netcatHelperArgs(listen)).toEqual(['--listen', '7777', '--on-peer-close', 'exit']);
    expect(netcatHelperArgs({ ...connect, endOfInput: 'half-close', verbose: true })).toEqual(['--connect', '198.18.77.2', '7777', '--on-peer-close', 'stay', '--half-close', '-v']);
  });

  it('summarizes nc steps in the article\'s spelling, and refuses an intent that is neither listen nor connect', () => {
    const parsed = parseExperiment(
      experimentWith(['  - { host: server, nc: { listen: true } }', '  - { host: client, nc: { connect: server, endOfInput: half-close, output: count } }', '  - { host: client, nc: { connect: H2, peerClose: exit } }']),
      'nc.yaml',
    );
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.value.steps.map(describeStep)).toEqual([
      'server upper: nc -l {port}',
      'client upper: nc -N {server.address} {port} | wc -c',
      'client upper: nc {H2.address} {port} (exits when the peer closes)',
    ]);
    expect(errorsOf(['  - { host: server, nc: { listen: true, connect: client } }'])).toContain('give exactly one of listen: true or connect: <host>');
    expect(errorsOf(['  - { host: server, nc: { endOfInput: half-close } }'])).toContain('give exactly one of listen: true or connect: <host>');
  });
});

const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
describe.skipIf(python.status !== 0)('the helper programs', () => {
  it.each(availableHelpers())('%s compiles and describes its arguments', (name) => {
    const path = join(HELPERS_DIR, `${name}.py`);
    const help = spawnSync('python3', [path, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: /);
    // Standard library only: the lab hosts have nothing else.
    const imports = [...readFileSync(path, 'utf8').matchAll(/^import (\w+)|^from (\w+) import/gm)].map((m) => m[1] ?? m[2]);
    for (const module of imports) expect(['argparse', 'collections', 'os', 'select', 'selectors', 'signal', 'socket', 'struct', 'sys', 'time']).toContain(module);
  });
});
