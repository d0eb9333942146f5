// The import direction renderer -> shared <- electron is the architecture (DESIGN.md).
// tsc's per-layer lib/types catch Node or DOM use; these rules catch the imports tsc cannot see.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Bare built-in names go in `paths` (exact module names): as gitignore-style `patterns` they would
// also match relative files such as shared/src/events.ts.
const nodeBuiltinNames = ['fs', 'path', 'os', 'child_process', 'net', 'crypto', 'stream', 'events', 'util', 'http', 'https', 'buffer', 'process'];
const nodeBuiltins = ['node:*'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'test-results/**', 'renderer/dist/**', 'dist-electron/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltinNames.map((name) => ({ name, message: 'shared/ is pure TypeScript: no Node built-ins (DESIGN.md, Layers).' })),
        patterns: [{ group: [...nodeBuiltins, 'electron', 'ssh2', 'react', 'react-dom', '**/electron/**', '**/renderer/**'],
          message: 'shared/ is pure TypeScript: no Node, Electron, DOM, or other layers (DESIGN.md, Layers).' }],
      }],
    },
  },
  {
    files: ['electron/lab/**/*.ts', 'electron/cli/**/*.ts', 'electron/web/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['electron', '**/renderer/**', '**/electron/main/**', '**/electron/preload/**'],
          message: 'The engine is plain Node: it never imports electron or the shell (DESIGN.md, Layers).' }],
      }],
    },
  },
  {
    // The shell may use electron and the engine, never the renderer's code.
    files: ['electron/main/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/renderer/**', '**/electron/preload/**'], message: 'The main process talks to the renderer only over IPC (DESIGN.md, Layers).' }],
      }],
    },
  },
  {
    // A sandboxed preload can require only electron: no Node, no engine, no ssh2 (bundled as one CommonJS file).
    files: ['electron/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltinNames.map((name) => ({ name, message: 'A sandboxed preload has no Node built-ins: only electron.' })),
        patterns: [{ group: [...nodeBuiltins, 'ssh2', 'ws', '**/electron/lab/**', '**/electron/web/**', '**/electron/main/**', '**/renderer/**'],
          message: 'A sandboxed preload requires only electron; the engine stays in the main process.' }],
      }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltinNames.map((name) => ({ name, message: 'The renderer has no Node: it talks to the engine only through LabApi (DESIGN.md, Layers).' })),
        patterns: [{ group: [...nodeBuiltins, 'electron', 'ssh2', 'ws', '**/electron/**'],
          message: 'The renderer talks to the engine only through the LabApi contract in shared/.' }],
      }],
    },
  },
);
