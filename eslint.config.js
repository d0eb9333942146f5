// The import direction renderer -> shared <- electron is the architecture (DESIGN.md).
// tsc's per-layer lib/types catch Node or DOM use; these rules catch the imports tsc cannot see.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Bare built-in names go in `paths` (exact module names): as gitignore-style `patterns` they would
// also match relative files such as shared/src/events.ts.
const nodeBuiltinNames = ['fs', 'path', 'os', 'child_process', 'net', 'crypto', 'stream', 'events', 'util', 'http', 'https', 'buffer', 'process'];
const nodeBuiltins = ['node:*'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'test-results/**', 'renderer/dist/**'] },
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
    files: ['electron/lab/**/*.ts', 'electron/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['electron', '**/renderer/**', '**/electron/main/**', '**/electron/preload/**'],
          message: 'The engine is plain Node: it never imports electron or the shell (DESIGN.md, Layers).' }],
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
