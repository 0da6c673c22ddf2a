// Renderer benchmark: the production bundle's size, and the time from navigation to the first
// screen (the onboarding heading) in Chromium through the headless host. The baseline, measured
// in the same run on the same server, is a page with one static heading and no script.
//   npm run bench:renderer          (builds the UI first)
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { RENDERER_DIST, startHeadlessHost } from '../main/host/headless.js';
import { serveRenderer } from '../main/host/static-server.js';
import { median } from './median.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const executablePath = process.env.TROVE_CHROMIUM ?? '/usr/bin/chromium';

function bundleSizes() {
  const files: { name: string; bytes: number; gzip: number }[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(js|css|html)$/.test(name)) {
        const body = readFileSync(path);
        files.push({ name: path.slice(RENDERER_DIST.length + 1), bytes: body.length, gzip: gzipSync(body).length });
      }
    }
  };
  walk(RENDERER_DIST);
  return files;
}


async function timeApp(browser: Browser): Promise<number> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const dataDir = mkdtempSync(join(tmpdir(), 'trove-bench-'));
  try {
    const started = performance.now();
    const host = await startHeadlessHost(page, { dataDir });
    await page.getByRole('heading', { name: 'Create your vault' }).waitFor();
    const elapsed = performance.now() - started;
    await host.close();
    return elapsed;
  } finally {
    await context.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function timeBaseline(browser: Browser, folder: string): Promise<number> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const server = await serveRenderer(folder);
  try {
    const started = performance.now();
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Create your vault' }).waitFor();
    return performance.now() - started;
  } finally {
    await server.close();
    await context.close();
  }
}

const sizes = bundleSizes();
const total = sizes.reduce((a, f) => ({ bytes: a.bytes + f.bytes, gzip: a.gzip + f.gzip }), { bytes: 0, gzip: 0 });
console.log('Renderer production bundle:');
for (const f of sizes) console.log(`  ${f.name.padEnd(36)} ${(f.bytes / 1024).toFixed(1).padStart(8)} KiB  (${(f.gzip / 1024).toFixed(1)} KiB gzip)`);
console.log(`  ${'total'.padEnd(36)} ${(total.bytes / 1024).toFixed(1).padStart(8)} KiB  (${(total.gzip / 1024).toFixed(1)} KiB gzip)`);

const baselineDir = mkdtempSync(join(tmpdir(), 'trove-bench-baseline-'));
writeFileSync(join(baselineDir, 'index.html'), '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Trove</title></head><body><h1>Create your vault</h1></body></html>');
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  // One warm-up of each, so both start from a browser that has loaded a page.
  await timeBaseline(browser, baselineDir);
  await timeApp(browser);
  const app: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(await timeBaseline(browser, baselineDir));
    app.push(await timeApp(browser));
  }
  const a = median(app);
  const b = median(base);
  console.log(`\nTime to first screen (median of ${RUNS}, fresh browser context each):`);
  console.log(`  static heading, no script (baseline) ${b.toFixed(0).padStart(6)} ms`);
  console.log(`  Trove onboarding screen              ${a.toFixed(0).padStart(6)} ms`);
  console.log(`  ratio app / baseline                 ${(a / b).toFixed(2).padStart(6)}x`);
} finally {
  await browser.close();
  rmSync(baselineDir, { recursive: true, force: true });
}
