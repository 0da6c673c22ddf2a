// Assembles the example analytics modules (coordinator/jobs/modules/*.wat) into .wasm files in
// coordinator/jobs/modules/build/ (build output, not committed) and prints each one's sha256,
// the hash a job document names and a person approves.
//   npm run build:modules
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleKernel } from './build-kernels.js';

export const MODULE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'coordinator', 'jobs', 'modules');

export interface BuiltModule {
  name: string;
  file: string;
  sha256: string;
}

export async function buildModules(): Promise<BuiltModule[]> {
  const out = join(MODULE_DIR, 'build');
  mkdirSync(out, { recursive: true });
  const built: BuiltModule[] = [];
  for (const source of readdirSync(MODULE_DIR).filter((f) => f.endsWith('.wat'))) {
    const name = source.slice(0, -'.wat'.length);
    const bytes = await assembleKernel(join(MODULE_DIR, source));
    const file = join(out, `${name}.wasm`);
    writeFileSync(file, bytes);
    built.push({ name, file, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return built;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const m of await buildModules()) console.log(`${m.name}.wasm sha256 ${m.sha256}`);
}
