/**
 * `tcplab web --replay DIR [--port N]`: opens a recorded run (a folder `tcplab run --out` or the
 * app wrote: session.jsonl, and result.json when it finished) in the app, with no hosts: the
 * panes, socket tables, state diagram and timeline show the run, and the timeline's cursor
 * shows any instant of it. Runs until Ctrl-C.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { port as portSchema } from '../../shared/src/safe-values';
import { ReplayBackend, ReplayError } from './replay-backend';
import { startWebServer } from './web-server';

export const REPLAY_USAGE = 'web --replay DIR [--port N]';

export function wantsReplay(args: readonly string[]): boolean {
  return args.some((a) => a === '--replay' || a.startsWith('--replay='));
}

export async function replayWebCommand(args: string[], rendererDir: string): Promise<number> {
  let dir: string;
  let port = 0;
  try {
    const { values } = parseArgs({ args, options: { replay: { type: 'string' }, port: { type: 'string' } } });
    if (!values.replay) throw new Error('--replay needs the folder of a recorded run');
    dir = resolve(values.replay);
    if (values.port !== undefined) {
      const parsed = portSchema.safeParse(Number(values.port));
      if (!/^\d+$/.test(values.port) || !parsed.success) throw new Error(`--port must be a whole number from 1 to 65535 (got "${values.port}")`);
      port = parsed.data;
    }
  } catch (error) {
    console.error(`tcplab: ${(error as Error).message}\nusage: tcplab ${REPLAY_USAGE} (a replay needs no hosts: --hosts, --lab and --out do not go with it)`);
    return 64;
  }
  let backend: ReplayBackend;
  try {
    backend = new ReplayBackend(dir);
  } catch (error) {
    if (!(error instanceof ReplayError)) throw error;
    console.error(`tcplab: cannot replay: ${error.message}`);
    return 2;
  }
  let server;
  try {
    server = await startWebServer({ backend, rendererDir, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(`tcplab: cannot start the web server: ${code === 'EADDRINUSE' ? `port ${port} is already in use` : (error as Error).message}`);
    return 2;
  }
  console.log(`TCP Lab is replaying ${dir} (${backend.eventCount} events, no hosts). Open this link in a browser on this machine:`);
  console.log(`  ${server.url}`);
  console.log('Only this machine can reach it, and only with that link. Stop with Ctrl-C.');
  const stop = await new Promise<NodeJS.Signals>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
  console.log(`${stop}: stopping`);
  await server.close();
  console.log('stopped');
  return 0;
}
