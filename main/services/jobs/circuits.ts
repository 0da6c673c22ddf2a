// Where the depth-1 Semaphore circuit that authorizes enrollments lies: assets/circuits, copied
// there by the contracts build (claims use the depth-20 one beside it).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The enrollment circuit's files under `assetsDir` (default: the repository's assets folder). */
export function enrollmentCircuitFiles(assetsDir: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../../assets')): { wasm: string; zkey: string } {
  return { wasm: join(assetsDir, 'circuits', 'semaphore-1.wasm'), zkey: join(assetsDir, 'circuits', 'semaphore-1.zkey') };
}
