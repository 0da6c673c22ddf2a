import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The renderer bundle: static files only (no inline scripts, so the strict CSP holds), loaded by
// the desktop window from the app's own protocol and by the headless host over 127.0.0.1.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
