/**
 * The `tcplab` command. Every command here runs under plain Node: no Electron, no display.
 */
import { parseArgs } from 'node:util';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { experimentFilesIn, experimentLibrary, ExperimentFileError, findExperiment, userExperimentsDir } from '../lab/builtin-experiments';
import { parseExperiment } from '../../shared/src/experiment-file';
import { experimentJsonSchemaText } from '../../shared/src/experiment-json-schema';
import { describeTransition } from '../lab/lab-session';
import { ExperimentRun, SetupError, type RunResult } from '../lab/experiment-runner';
import { ConfigError, readHostsFile } from '../lab/hosts-config';
import { allRequiredPass, checkHosts, formatHostCheck } from '../lab/preflight';
import { HostConnectError } from '../lab/ssh-host';
import { LabUnavailable, localLabHostsFile, runLabScript } from '../lab/virtual-lab';
import { port as portSchema } from '../../shared/src/safe-values';
import type { ConnectionResult, LabEvent } from '../../shared/src/events';
import { FIGURES_USAGE, REPORT_USAGE, WEB_USAGE } from './usages';

// Loaded when their command runs: a web server, a terminal emulator and a rasterizer are heavy.
const figures = () => import('../figures/figures-command');
const web = () => import('../web/web-command');

const COMMANDS: Array<[name: string, usage: string, summary: string]> = [
  ['lab', 'lab up | down | status', 'build, remove or inspect the local virtual lab (H1 and H2 as network namespaces; Linux, root)'],
  ['demo', 'demo', 'bring the local virtual lab up and run the article\'s two experiments on it (normal-teardown, lost-fin)'],
  ['experiments', 'experiments [--dir DIR]', 'list the built-in experiments and those in DIR (or $TCPLAB_EXPERIMENTS), one line each'],
  ['run', 'run <experiment|file> (--hosts FILE | --lab local) [--port N] [--out DIR] [--json] [--swap-roles] [--no-packets] [--accept-host-key SHA256:...] [--experiments DIR]', 'run an experiment on two hosts, print each host\'s transitions, exit 0 only if the promised states were seen (packets captured into <out>/H1.pcap, H2.pcap unless --no-packets)'],
  ['check', 'check (--hosts FILE | --lab local) [--json] [--accept-host-key SHA256:...]', 'preflight both hosts: ss, netcat flavor, iptables, sudo, tracefs, tcpdump, python3, clock offset; each failing item with the command that fixes it; exit 0 only if nothing required fails'],
  ['figures', FIGURES_USAGE, 'a recorded run\'s figures as SVG and PNG: each host\'s window at an instant, the timeline, the state diagram (no hosts needed)'],
  ['report', REPORT_USAGE, 'a recorded run as one self-contained HTML file (figures, states, transcripts, explanation) that opens offline and prints to PDF'],
  ['web', WEB_USAGE, 'the app in a browser on this machine: serves it on 127.0.0.1 and prints the link (with its access token) to open'],
  ['validate', 'validate FILE|DIR...', 'check experiment files (and every one in a folder); report every error with file:line:column; exit 0 only if all are valid'],
  ['schema', 'schema', 'print the JSON Schema of experiment files, for editors (published as resources/experiment.schema.json)'],
  ['help', 'help', 'show this help'],
];

export class UsageError extends Error {}

function help(): string {
  const width = Math.max(...COMMANDS.map(([name]) => name.length));
  return [
    'tcplab: watch every TCP state of a connection on two Linux hosts',
    '',
    'Usage: tcplab <command> [options]',
    '',
    ...COMMANDS.map(([name, , summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Details:',
    ...COMMANDS.map(([, usage]) => `  tcplab ${usage}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(help());
      return 0;
    case 'lab':
      return labCommand(rest);
    case 'experiments':
      return experimentsCommand(rest);
    case 'schema':
      if (rest.length > 0) throw new UsageError('usage: tcplab schema');
      process.stdout.write(experimentJsonSchemaText());
      return 0;
    case 'validate':
      return validateCommand(rest);
    case 'run':
      return runCommand(rest);
    case 'demo':
      return demoCommand(rest);
    case 'figures':
      return (await figures()).figuresCommand(rest);
    case 'report':
      return (await figures()).reportCommand(rest);
    case 'web':
      return (await web()).webCommand(rest);
    case 'check':
      return checkCommand(rest);
    default:
      throw new UsageError(`unknown command "${command}"; run "tcplab help" to see the commands`);
  }
}

function labCommand(args: string[]): number {
  const action = args[0];
  if (action !== 'up' && action !== 'down' && action !== 'status') throw new UsageError('usage: tcplab lab up | down | status');
  return runLabScript(action).status;
}

function experimentsCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { dir: { type: 'string' } } });
  for (const { experiment: e, file, user } of experimentLibrary(userExperimentsDir(values.dir))) {
    console.log(`${e.id.padEnd(20)} ${user ? `[user] ${e.summary} (${file})` : e.summary}`);
  }
  return 0;
}

/** Every file given, and every experiment file in each folder given; all errors of all files. */
function validateCommand(args: string[]): number {
  if (args.length === 0 || args.some((a) => a.startsWith('-'))) throw new UsageError('usage: tcplab validate FILE|DIR...');
  let bad = 0;
  let good = 0;
  for (const arg of args) {
    let files: string[];
    try {
      files = statSync(arg).isDirectory() ? experimentFilesIn(arg) : [arg];
    } catch (error) {
      console.error(`${arg}: cannot read: ${(error as Error).message}`);
      bad++;
      continue;
    }
    if (files.length === 0) {
      console.error(`${arg}: no experiment files (*.yaml, *.yml, *.json) in this folder`);
      bad++;
    }
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        console.error(`${file}: cannot read: ${(error as Error).message}`);
        bad++;
        continue;
      }
      const result = parseExperiment(text, file);
      if (result.ok) {
        console.log(`${file}: ok (${result.value.id}, ${result.value.steps.length} steps)`);
        good++;
      } else {
        console.error(result.message);
        bad++;
      }
    }
  }
  if (bad > 0) console.error(`${good} valid, ${bad} not valid`);
  return bad === 0 ? 0 : 2;
}

async function demoCommand(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError('usage: tcplab demo');
  const up = runLabScript('up');
  if (up.status !== 0) return up.status;
  const outcomes: string[] = [];
  let failed = 0;
  for (const id of ['normal-teardown', 'lost-fin']) {
    console.log('');
    const code = await runCommand([id, '--lab', 'local']);
    if (code !== 0) failed++;
    outcomes.push(`${id}: ${code === 0 ? 'passed' : 'FAILED'}`);
  }
  console.log(`\n${outcomes.join('\n')}\nThe virtual lab stays up for more runs; remove it with: npx tcplab lab down`);
  return failed === 0 ? 0 : 1;
}

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      hosts: { type: 'string' },
      lab: { type: 'string' },
      port: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      'swap-roles': { type: 'boolean', default: false },
      'no-packets': { type: 'boolean', default: false },
      'accept-host-key': { type: 'string', multiple: true },
      experiments: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('usage: tcplab run <experiment|file> (--hosts FILE | --lab local) [--port N] [--out DIR] [--json] [--no-packets]');
  const hostsFile = hostsFileOption(values);
  let port: number | undefined;
  if (values.port !== undefined) {
    const parsed = portSchema.safeParse(Number(values.port));
    if (!/^\d+$/.test(values.port) || !parsed.success) throw new UsageError(`--port must be a whole number from 1 to 65535 (got "${values.port}")`);
    port = parsed.data;
  }
  const experiment = findExperiment(positionals[0]!, userExperimentsDir(values.experiments));
  const hosts = await readHostsFile(hostsFile);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outDir = resolve(values.out ?? join('runs', `${stamp}-${experiment.id}`));
  const progress = values.json ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => console.log(line);

  const run = new ExperimentRun({
    experiment,
    hosts,
    outDir,
    ...(port !== undefined ? { port } : {}),
    swapRoles: values['swap-roles'],
    packets: !values['no-packets'],
    acceptedFingerprints: new Set(values['accept-host-key'] ?? []),
    onEvent: (event) => reportEvent(event, progress),
  });
  progress(`running ${experiment.id} (${experiment.title}) on port ${run.port}: client ${run.roles.client}, server ${run.roles.server}`);
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: aborting, cleaning up the hosts...`);
    run.abort(`interrupted by ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const result = await run.run();
  await (await figures()).runFigures(outDir, progress);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (values.json) console.log(JSON.stringify(jsonSummary(result)));
  else printSummary(result, progress);
  return result.passed ? 0 : 1;
}

/** The hosts file named by `--hosts FILE` or `--lab local` (exactly one of them). */
function hostsFileOption(values: { hosts?: string | undefined; lab?: string | undefined }): string {
  if ((values.hosts === undefined) === (values.lab === undefined)) throw new UsageError('give exactly one of --hosts FILE or --lab local');
  if (values.lab !== undefined && values.lab !== 'local') throw new UsageError(`--lab takes only "local" (got "${values.lab}")`);
  return values.hosts ?? localLabHostsFile();
}

async function checkCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      hosts: { type: 'string' },
      lab: { type: 'string' },
      json: { type: 'boolean', default: false },
      'accept-host-key': { type: 'string', multiple: true },
    },
  });
  if (positionals.length > 0) throw new UsageError('usage: tcplab check (--hosts FILE | --lab local) [--json]');
  const hosts = await readHostsFile(hostsFileOption(values));
  const checks = await checkHosts(hosts, new Set(values['accept-host-key'] ?? []));
  const ok = allRequiredPass(checks);
  if (values.json) {
    console.log(JSON.stringify({ ok, hosts: checks }, null, 2));
  } else {
    console.log(checks.map(formatHostCheck).join('\n\n'));
    console.log(`\n${ok ? 'ready: both hosts have everything experiments need' : 'NOT READY: fix the FAIL items above (each with its command), then check again'}`);
  }
  return ok ? 0 : 1;
}

function reportEvent(event: LabEvent, print: (line: string) => void): void {
  switch (event.type) {
    case 'transition':
      print(`  ${describeTransition(event)}`);
      break;
    case 'step':
      if (event.phase === 'start') print(`step ${event.index + 1}: ${event.summary}`);
      if (event.phase === 'failed') print(`step ${event.index + 1} failed: ${event.detail ?? ''}`);
      break;
    case 'connection':
      if (event.status !== 'connecting') print(`${event.host}: ${event.status}${event.detail ? ` (${event.detail})` : ''}`);
      break;
    case 'capability':
      if (!event.ok) print(`${event.host}: ${event.detail}`);
      break;
    case 'firewall':
      print(`${event.host}: firewall ${event.action}: ${event.command}`);
      break;
    case 'note':
      print(`${event.host ? `${event.host}: ` : ''}${event.text}`);
      break;
    default:
      break;
  }
}

/** The `--json` shape: stable for scripts (see README). */
export function jsonSummary(result: RunResult): object {
  return {
    experiment: result.experiment,
    passed: result.passed,
    out: result.out,
    ...(result.error ? { error: result.error } : {}),
    hosts: Object.fromEntries(
      Object.entries(result.hosts).map(([label, host]) => [
        label,
        { ...host, connections: host.connections },
      ]),
    ),
  };
}

function printSummary(result: RunResult, print: (line: string) => void): void {
  print('');
  for (const [label, host] of Object.entries(result.hosts)) {
    const expected = host.expected?.noConnection ? 'no connection' : host.expected ? `${host.expected.passes.join(' -> ')}${host.expected.endsIn ? ` (ends in ${host.expected.endsIn})` : ''}` : 'nothing promised';
    print(`${label}${host.role ? ` (${host.role})` : ''}: ${host.passed ? 'PASS' : 'FAIL'}  expected ${expected}`);
    const line = (c: ConnectionResult): string => `    ${c.local} -> ${c.remote}: ${c.states.map((s) => s.state).join(', ')}`;
    for (const c of host.connections) print(line(c));
    for (const c of host.earlier ?? []) print(`${line(c)}  (on the port before the run; not judged)`);
    if (host.reason) print(`    ${host.reason}`);
  }
  if (result.error) print(`error: ${result.error}`);
  print(`${result.passed ? 'passed' : 'FAILED'}: session log, transcripts and result in ${result.out}`);
}

let finished = false;
// A command whose promise never settles must not look like success when the event loop drains.
process.on('exit', (code) => {
  if (!finished && code === 0) {
    console.error('tcplab: internal error: the command stopped without finishing');
    process.exitCode = 70;
  }
});

main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exitCode = code;
  },
  (error: unknown) => {
    finished = true;
    const known = error instanceof UsageError || error instanceof ConfigError || error instanceof ExperimentFileError || error instanceof HostConnectError || error instanceof LabUnavailable || error instanceof SetupError;
    console.error(`tcplab: ${known ? (error as Error).message : (error as Error).stack ?? String(error)}`);
    process.exitCode = error instanceof UsageError ? 64 : 2;
  },
);
