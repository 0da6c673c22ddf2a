// The worker bundled once with esbuild (packages stay external, resolved from node_modules) and
// started with plain node: a worker from sources then starts in a fraction of the time a
// TypeScript loader needs. For the hosts that run from a source checkout: the demo and tests.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeWorkerLauncher } from '../services/worker/launcher.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let built: Promise<string> | undefined;

/** The path of the bundled worker entry (built once per process). */
export function bundledWorkerEntry(): Promise<string> {
  built ??= (async () => {
    // one folder per process; the GPU thread's entry sits beside the worker's, where the worker
    // looks for it (worker/training/webgpu/gpu-session.ts)
    const dir = join(ROOT, 'node_modules', '.cache', 'trove-worker', String(process.pid));
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'main.mjs');
    const common = { bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent' } as const;
    await build({ ...common, entryPoints: [join(ROOT, 'worker', 'main.ts')], outfile });
    await build({ ...common, entryPoints: [join(ROOT, 'worker', 'training', 'webgpu', 'gpu-thread.ts')], outfile: join(dir, 'gpu-thread.js') });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return outfile;
  })();
  return built;
}

export async function bundledWorkerLauncher(): Promise<NodeWorkerLauncher> {
  return new NodeWorkerLauncher({ entry: await bundledWorkerEntry(), execArgv: [] });
}
