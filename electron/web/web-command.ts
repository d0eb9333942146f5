/**
 * `tcplab web`: the app in a browser on this machine (browser mode). Starts the engine and the
 * server, prints the link to open, and runs until Ctrl-C, which aborts a running experiment and
 * cleans the hosts up before exiting.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { port as portSchema } from '../../shared/src/safe-values';
import { builtinExperiments } from '../lab/builtin-experiments';
import { readHostsFile } from '../lab/hosts-config';
import { localLabHostsFile } from '../lab/virtual-lab';
import { LabBackend } from './lab-backend';
import { startWebServer } from './web-server';

export const WEB_USAGE = 'web (--hosts FILE | --lab local) [--port N] [--known-hosts FILE] [--out DIR]';
export const RENDERER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'renderer', 'dist');

class WebUsageError extends Error {}

interface WebArgs {
  hostsFile: string;
  port: number;
  knownHosts?: string;
  outDir: string;
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
    hostsFile: values.hosts ?? localLabHostsFile(),
    port,
    ...(values['known-hosts'] !== undefined ? { knownHosts: resolve(values['known-hosts']) } : {}),
    outDir: resolve(values.out ?? 'runs'),
  };
}

export async function webCommand(args: string[]): Promise<number> {
  let options: WebArgs;
  try {
    options = parseWebArgs(args);
  } catch (error) {
    if (!(error instanceof WebUsageError)) throw error;
    console.error(`tcplab: ${error.message}`);
    return 64;
  }
  const hosts = await readHostsFile(options.hostsFile);
  // Another known_hosts than the hosts file names: a fresh one shows the first-connection dialog.
  if (options.knownHosts) hosts.knownHostsFile = options.knownHosts;
  const backend = new LabBackend({ hosts, experiments: builtinExperiments(), outDir: options.outDir });
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
  console.log(`Hosts: ${options.hostsFile} (known_hosts: ${hosts.knownHostsFile}); session logs in ${options.outDir}`);
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
