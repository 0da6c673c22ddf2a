// Everything checked about a researcher's WebAssembly module before a single instruction of it
// runs: its hash is the one in the signed document and the person approved it, it imports nothing
// but the host interface, and it defines its own memory with a maximum within the job's cap (so
// `memory.grow` fails inside the module instead of growing the worker).
import { createHash } from 'node:crypto';
import { HOST_FUNCTIONS, HOST_MODULE } from '../../common/analytics/host-interface.js';
import type { ModuleComputation } from '../../common/analytics/spec.js';
import { TroveError } from '../../common/errors.js';

function refused(message: string, details?: Record<string, unknown>): TroveError {
  return new TroveError('ANALYTICS_MODULE_REFUSED', `${message} It was not run and nothing was sent.`, details);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Compiles the module if it may run under this job; throws ANALYTICS_MODULE_REFUSED otherwise. */
export async function checkModule(bytes: Uint8Array, computation: ModuleComputation, approved: readonly string[]): Promise<WebAssembly.Module> {
  const hash = sha256Hex(bytes);
  if (hash !== computation.sha256) {
    throw refused("The job's program is not the one the signed job names.", { expected: computation.sha256, actual: hash });
  }
  if (!approved.includes(hash)) throw refused("You have not approved this job's program.", { sha256: hash });
  let mod: WebAssembly.Module;
  try {
    mod = await WebAssembly.compile(new Uint8Array(bytes));
  } catch (err) {
    throw refused(`The job's program is not valid WebAssembly (${(err as Error).message}).`);
  }
  const allowed = new Set<string>(HOST_FUNCTIONS);
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.module !== HOST_MODULE || imp.kind !== 'function' || !allowed.has(imp.name)) {
      throw refused(`The job's program asks for "${imp.module}.${imp.name}" (${imp.kind}), which is outside what Trove lets programs use.`, { module: imp.module, name: imp.name, kind: imp.kind });
    }
  }
  const exports = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  if (exports.get('run') !== 'function' || exports.get('memory') !== 'memory') {
    throw refused("The job's program does not export its memory and a run function.");
  }
  const memories = declaredMemories(bytes);
  if (memories.length !== 1) throw refused("The job's program must define exactly one memory.", { memories: memories.length });
  const { maximum } = memories[0]!;
  if (maximum === undefined) throw refused("The job's program does not declare how much memory it may use.");
  if (maximum > computation.maxMemoryPages) {
    throw refused(`The job's program may grow to ${maximum * 64} KiB of memory, more than the job's cap of ${computation.maxMemoryPages * 64} KiB.`, { maximum, cap: computation.maxMemoryPages });
  }
  return mod;
}

interface MemoryLimits {
  minimum: number;
  maximum: number | undefined;
}

/** Memory limits from the binary's memory section (the JS API does not expose them). */
export function declaredMemories(bytes: Uint8Array): MemoryLimits[] {
  let at = 8; // magic and version, already checked by compile
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length) throw refused("The job's program is cut short.");
      const b = bytes[at++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw refused("The job's program has a malformed number.");
    }
  };
  const out: MemoryLimits[] = [];
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const size = leb();
    const end = at + size;
    if (id === 5) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        const flags = leb();
        // 0: minimum only; 1: minimum and maximum. Shared (2, 3) and 64-bit (4+) memories are refused.
        if (flags > 1) throw refused("The job's program asks for a shared or 64-bit memory.", { flags });
        const minimum = leb();
        out.push({ minimum, maximum: flags === 1 ? leb() : undefined });
      }
    }
    at = end;
  }
  return out;
}
