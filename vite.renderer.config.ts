// Build tooling (runs under Node, so it lives outside renderer/, whose code has no Node).
// Builds the renderer into renderer/dist, which `tcplab web` serves (and the Electron shell will
// load from disk). Everything is bundled, fonts included: no request leaves the machine.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react(), tailwindcss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // xterm.js alone is ~400 kB; one local bundle is fine for an app that never downloads it.
    chunkSizeWarningLimit: 1500,
    // Fonts stay files (never inlined as data: URLs) so the CSP can say font-src 'self'.
    assetsInlineLimit: 0,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod ships comments Rollup cannot place (INVALID_ANNOTATION); harmless, and not ours to fix.
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('node_modules')) return;
        warn(warning);
      },
    },
  },
});
