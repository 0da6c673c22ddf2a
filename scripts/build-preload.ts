// Bundles the two preload entries into single files: the headless host's (an IIFE injected into
// the page) and the desktop app's (CommonJS, as Electron's sandboxed preload requires).
import { build } from 'esbuild';

await Promise.all([
  build({
    entryPoints: ['preload/headless.ts'],
    outfile: 'dist/preload/headless.js',
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    minify: true,
    logLevel: 'warning',
  }),
  build({
    entryPoints: ['main/electron/preload.ts'],
    outfile: 'dist/main/electron/preload.cjs',
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    external: ['electron'],
    minify: true,
    logLevel: 'warning',
  }),
]);
console.log('preload: built');
