/**
 * `tcplab web`: the app in a browser on this machine (browser mode). Starts the engine and the
 * server, prints the link to open, and runs until Ctrl-C, which aborts a running experiment and
 * cleans the hosts up before exiting.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { port as portSchema } from '../../shared/src/safe-values';
import { ExperimentFileError, experimentLibrary, userExperimentsDir, type LibraryEntry } from '../lab/builtin-experiments';
import { existsSync } from 'node:fs';
import { readHostsFile, type ResolvedHosts } from '../lab/hosts-config';
import { HostsStore, MemorySecretStore } from '../lab/hosts-store';
import { bringLocalLabUp, labUnavailableReason, localLabHostsFile } from '../lab/virtual-lab';
import { LabBackend, type LocalLabControl } from './lab-backend';
import { startWebServer } from './web-server';
import { replayWebCommand, wantsReplay } from './replay-command';

import { WEB_USAGE } from '../cli/usages';

export { WEB_USAGE };
export const RENDERER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'renderer', 'dist');

class WebUsageError extends Error {}

/** The virtual lab, as the Hosts view's "Local virtual lab" button uses it. */
export const localLabControl: LocalLabControl = {
  unavailableReason: labUnavailableReason,
  up: (onProgress) => bringLocalLabUp(onProgress),
};

interface WebArgs {
  hostsFile: string;
  /** --hosts FILE: the Hosts view edits it (it need not exist yet); --lab local: fixed. */
  editable: boolean;
  port: number;
  knownHosts?: string;
  outDir: string;
  /** A folder of the user's own experiments (--experiments or $TCPLAB_EXPERIMENTS). */
  experimentsDir?: string;
}

function parseWebArgs(args: string[]): WebArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        hosts: { type: 'string' },
        lab: { type: 'string' },
        port: { type: 'string' },
        'known-hosts': { type: 'string' },
        out: { type: 'string' },
        experiments: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new WebUsageError(`${(error as Error).message}\nusage: tcplab ${WEB_USAGE}`);
  }
  if ((values.hosts === undefined) === (values.lab === undefined)) throw new WebUsageError(`give exactly one of --hosts FILE or --lab local\nusage: tcplab ${WEB_USAGE}`);
  if (values.lab !== undefined && values.lab !== 'local') throw new WebUsageError(`--lab takes only "local" (got "${values.lab}")`);
  let port = 0;
  if (values.port !== undefined) {
    const parsed = portSchema.safeParse(Number(values.port));
    if (!/^\d+$/.test(values.port) || !parsed.success) throw new WebUsageError(`--port must be a whole number from 1 to 65535 (got "${values.port}")`);
    port = parsed.data;
  }
  return {
    hostsFile: values.hosts !== undefined ? resolve(values.hosts) : localLabHostsFile(),
    editable: values.hosts !== undefined,
    port,
    ...(values['known-hosts'] !== undefined ? { knownHosts: resolve(values['known-hosts']) } : {}),
    outDir: resolve(values.out ?? 'runs'),
    ...(userExperimentsDir(values.experiments) !== undefined ? { experimentsDir: userExperimentsDir(values.experiments)! } : {}),
  };
}

export async function webCommand(args: string[]): Promise<number> {
  // A recorded run, no hosts (electron/web/replay-command.ts).
  if (wantsReplay(args)) return replayWebCommand(args, RENDERER_DIR);
  let options: WebArgs;
  try {
    options = parseWebArgs(args);
  } catch (error) {
    if (!(error instanceof WebUsageError)) throw error;
    console.error(`tcplab: ${error.message}`);
    return 64;
  }
  // Browser mode keeps the secrets typed into the Hosts view in memory only (the view says so).
  const store = options.editable ? new HostsStore({ file: options.hostsFile, secrets: new MemorySecretStore(), ...(options.knownHosts ? { knownHostsFile: options.knownHosts } : {}) }) : undefined;
  let hosts: ResolvedHosts | undefined;
  if (store && !existsSync(options.hostsFile)) {
    console.log(`No hosts file yet at ${options.hostsFile}: set H1 and H2 up in the app (Hosts), which writes it.`);
  } else if (store) {
    try {
      hosts = await store.resolve();
    } catch (error) {
      // Open anyway: the Hosts view shows the problem and can fix it.
      console.error(`tcplab: the hosts in ${options.hostsFile} cannot be used yet:\n${(error as Error).message}\nFix them in the app (Hosts).`);
    }
  } else {
    hosts = await readHostsFile(options.hostsFile);
    // Another known_hosts than the hosts file names: a fresh one shows the first-connection dialog.
    if (options.knownHosts) hosts.knownHostsFile = options.knownHosts;
  }
  let library: LibraryEntry[];
  try {
    library = experimentLibrary(options.experimentsDir);
  } catch (error) {
    if (!(error instanceof ExperimentFileError)) throw error;
    console.error(`tcplab: ${error.message}\nFix the files (tcplab validate ${options.experimentsDir ?? ''} lists every error), or leave --experiments out.`);
    return 2;
  }
  const backend = new LabBackend({
    hosts,
    ...(store ? { hostsStore: store } : {}),
    localLab: localLabControl,
    experiments: library.map((entry) => entry.experiment),
    userExperimentFiles: Object.fromEntries(library.filter((entry) => entry.user).map((entry) => [entry.experiment.id, entry.file])),
    outDir: options.outDir,
  });
  let server;
  try {
    server = await startWebServer({ backend, rendererDir: RENDERER_DIR, port: options.port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? `port ${options.port} is already in use; choose another with --port, or leave --port out for any free one` : (error as Error).message;
    console.error(`tcplab: cannot start the web server: ${why}`);
    return 2;
  }
  console.log('TCP Lab is running in browser mode. Open this link in a browser on this machine:');
  console.log(`  ${server.url}`);
  console.log(`Hosts: ${options.hostsFile} (known_hosts: ${hosts?.knownHostsFile ?? options.knownHosts ?? 'from the hosts file'}); session logs in ${options.outDir}`);
  console.log('Only this machine can reach it, and only with that link. Stop with Ctrl-C.');

  const stop = await new Promise<NodeJS.Signals>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
  console.log(`${stop}: stopping; cleaning up the hosts...`);
  await backend.shutdown();
  await server.close();
  console.log('stopped');
  return 0;
}
