// Random and malformed IPC payloads from a seeded generator, so a failure replays with its seed.
import { PASSPHRASE } from './helpers.js';
import { seededRandom } from '../../../common/random.js';

export const NASTY_STRINGS = [
  '', ' ', 'a', '\u0000', '../../../../etc/passwd', '/etc/passwd', 'C:\\Windows\\win.ini', '%00', '\ud800', '🙂'.repeat(50),
  'x'.repeat(5000), '__proto__', 'constructor', '{"a":1}', '<script>alert(1)</script>', 'DROP TABLE datasets;', '0'.repeat(32),
  'f'.repeat(32), 'import-0001', 'NaN', '-1', '1e309', 'true', 'null', PASSPHRASE.slice(0, 5),
];
const NASTY_NUMBERS = [0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, 9_999, 10_000, 10_001, 500, 501];

export function fuzzer(seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int = (n: number) => Math.floor(random() * n);

  function randomValue(depth = 0): unknown {
    switch (int(depth > 2 ? 6 : 9)) {
      case 0: return pick(NASTY_STRINGS);
      case 1: return pick(NASTY_NUMBERS);
      case 2: return random() < 0.5;
      case 3: return null;
      case 4: return undefined;
      case 5: return Array.from({ length: int(4) }, () => int(256)).map((b) => b.toString(16).padStart(2, '0')).join('').padEnd(32, '0');
      case 6: return Array.from({ length: int(5) }, () => randomValue(depth + 1));
      case 7: return Object.fromEntries(Array.from({ length: int(5) }, () => [pick([...NASTY_STRINGS, 'id', 'file', 'passphrase', 'offset', 'limit', 'token', 'jobId', 'columns']), randomValue(depth + 1)]));
      default: return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
    }
  }

  /** A request that is almost right: the valid shape with one field wrong, missing or extra. */
  function mutate(valid: Record<string, unknown>): unknown {
    const keys = Object.keys(valid);
    const out: Record<string, unknown> = { ...valid };
    switch (int(4)) {
      case 0:
        if (keys.length) delete out[pick(keys)];
        return out;
      case 1:
        if (keys.length) out[pick(keys)] = randomValue();
        return out;
      case 2:
        out[pick(['extra', '__proto__', 'admin', 'path'])] = randomValue();
        return out;
      default:
        return randomValue();
    }
  }

  return { random, pick, int, randomValue, mutate };
}
