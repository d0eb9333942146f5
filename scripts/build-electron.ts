/**
 * Bundles the desktop shell into dist-electron/ with esbuild (Vite's own bundler):
 * - main/index.js: electron/main/main.ts with the engine, ESM for Node. Packages stay external
 *   (ssh2 has optional native parts) and are loaded from node_modules at run time. The bundle
 *   sits two levels below the app root, like the engine's sources, so their
 *   `import.meta.url`-relative paths (resources/, renderer/dist) still point at the same files.
 * - preload/index.cjs: electron/preload/preload.ts, CommonJS as a sandboxed preload must be,
 *   requiring nothing but 'electron' (checked below: the build fails otherwise).
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist-electron');

await build({
  entryPoints: [join(root, 'electron', 'main', 'main.ts')],
  outfile: join(out, 'main', 'index.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});

await build({
  entryPoints: [join(root, 'electron', 'preload', 'preload.ts')],
  outfile: join(out, 'preload', 'index.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'chrome130',
  external: ['electron'],
  logLevel: 'warning',
});

const preload = readFileSync(join(out, 'preload', 'index.cjs'), 'utf8');
const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
if (required.some((name) => name !== 'electron')) {
  console.error(`build-electron: the preload requires ${required.join(', ')}; a sandboxed preload may require only electron`);
  process.exit(1);
}
console.log('dist-electron/: main/index.js, preload/index.cjs');
