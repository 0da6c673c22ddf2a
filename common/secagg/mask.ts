// Adding and removing masks on a Uint32 vector. Assigning into a Uint32Array wraps modulo 2^32,
// so the loops need no explicit reduction; one keystream call produces each whole mask.
import type { MaskStream } from './sodium.js';

export function addMask(target: Uint32Array, stream: MaskStream, key: Uint8Array): void {
  stream.expand(key, target.length, (mask) => {
    for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) + (mask[i] as number);
  });
}

export function subtractMask(target: Uint32Array, stream: MaskStream, key: Uint8Array): void {
  stream.expand(key, target.length, (mask) => {
    for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) - (mask[i] as number);
  });
}

export function addVector(target: Uint32Array, values: Uint32Array): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) + (values[i] as number);
}

/** Reduces every word modulo 2^bits (bits < 32). */
export function reduceModulo(target: Uint32Array, bits: number): void {
  if (bits >= 32) return;
  const m = 2 ** bits - 1;
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) & m;
}
