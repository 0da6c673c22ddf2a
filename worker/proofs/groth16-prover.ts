// A Groth16 prover that keeps its proving key parsed and remembers its last witness. snarkjs's
// groth16.prove parses the key on every call and computes the four witness-weighted sums of key
// points (A, B1, B2, C) from scratch; those sums are linear in the witness, so this prover adds
// only the difference to the previous witness's sums. Two claims by the same person share most
// of their witness (the secret's key pair, its commitment, the Merkle path when the group is the
// same): only the parts that depend on the message and scope change. The quotient (H) part is
// not linear and is computed in full each time; the blinding (r, s) is fresh for every proof,
// as in snarkjs, so a proof is the same value whichever way the sums were reached.
// The steps follow snarkjs 0.7.5's prover (the zkey layout, the coset FFT for H, its curve's
// wasm routines), so a proof verifies with the same key; the remembered sums stay in this
// worker's memory, like the identity they were computed from.
import { curves, type Curve } from 'snarkjs';

const N8 = 32;
const GROTH16 = 1;
const BN128_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

interface Sections {
  [type: number]: Uint8Array | undefined;
}

/** The sections of an iden3 binary file (zkey, wtns): magic, version, then typed sections. */
function readSections(bytes: Uint8Array, magic: string): Sections {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== magic) throw new Error(`not a ${magic} file`);
  const count = view.getUint32(8, true);
  const sections: Sections = {};
  let at = 12;
  for (let i = 0; i < count; i++) {
    if (at + 12 > bytes.byteLength) throw new Error(`truncated ${magic} file`);
    const type = view.getUint32(at, true);
    const size = Number(view.getBigUint64(at + 4, true));
    at += 12;
    if (at + size > bytes.byteLength) throw new Error(`truncated ${magic} file`);
    if (sections[type]) throw new Error(`${magic} file repeats section ${type}`);
    sections[type] = bytes.subarray(at, at + size);
    at += size;
  }
  return sections;
}

function section(sections: Sections, type: number, magic: string): Uint8Array {
  const s = sections[type];
  if (!s) throw new Error(`${magic} file lacks section ${type}`);
  return s;
}

function leBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

function bigIntLe(value: bigint, into: Uint8Array, at: number): void {
  let v = value;
  for (let i = 0; i < N8; i++) {
    into[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: 'groth16';
  curve: string;
}

interface LinearSums {
  witness: Uint8Array;
  a: Uint8Array;
  b1: Uint8Array;
  b2: Uint8Array;
  c: Uint8Array;
}

export class Groth16Prover {
  private last: LinearSums | undefined;

  private constructor(
    private readonly curve: Curve,
    private readonly header: { r: bigint; nVars: number; nPublic: number; domainSize: number; power: number; alpha1: Uint8Array; beta1: Uint8Array; beta2: Uint8Array; delta1: Uint8Array; delta2: Uint8Array },
    /** The constraint coefficients split once: matrix, row, signal and value of each. */
    private readonly coeffs: { m: Uint32Array; c: Uint32Array; s: Uint32Array; value: Uint8Array[] },
    private readonly points: { a: Uint8Array; b1: Uint8Array; b2: Uint8Array; c: Uint8Array; h: Uint8Array },
  ) {}

  static async load(zkey: Uint8Array): Promise<Groth16Prover> {
    const sections = readSections(zkey, 'zkey');
    const kind = new DataView(section(sections, 1, 'zkey').buffer, section(sections, 1, 'zkey').byteOffset).getUint32(0, true);
    if (kind !== GROTH16) throw new Error('the proving key is not a Groth16 key');
    const h = section(sections, 2, 'zkey');
    const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    if (hv.getUint32(0, true) !== N8 || hv.getUint32(4 + N8, true) !== N8) throw new Error('the proving key is not on a 254-bit curve');
    const q = leBigInt(h.subarray(4, 4 + N8));
    if (q !== BN128_Q) throw new Error('the proving key is not on bn128');
    const r = leBigInt(h.subarray(8 + N8, 8 + 2 * N8));
    const curve = await curves.getCurveFromQ(q);
    let at = 8 + 2 * N8;
    const nVars = hv.getUint32(at, true);
    const nPublic = hv.getUint32(at + 4, true);
    const domainSize = hv.getUint32(at + 8, true);
    at += 12;
    const g1 = () => {
      const p = curve.G1.fromRprLEM(h, at);
      at += 2 * N8;
      return p;
    };
    const g2 = () => {
      const p = curve.G2.fromRprLEM(h, at);
      at += 4 * N8;
      return p;
    };
    const alpha1 = g1();
    const beta1 = g1();
    const beta2 = g2();
    g2(); // gamma2: verification only
    const delta1 = g1();
    const delta2 = g2();
    const power = Math.log2(domainSize);
    if (!Number.isInteger(power)) throw new Error('the proving key has a domain that is not a power of two');

    const raw = section(sections, 4, 'zkey');
    const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = 12 + N8;
    const n = (raw.byteLength - 4) / size;
    const coeffs = { m: new Uint32Array(n), c: new Uint32Array(n), s: new Uint32Array(n), value: new Array<Uint8Array>(n) };
    for (let i = 0; i < n; i++) {
      const o = 4 + i * size;
      coeffs.m[i] = rv.getUint32(o, true);
      coeffs.c[i] = rv.getUint32(o + 4, true);
      coeffs.s[i] = rv.getUint32(o + 8, true);
      coeffs.value[i] = raw.slice(o + 12, o + 12 + N8);
    }
    const points = { a: section(sections, 5, 'zkey'), b1: section(sections, 6, 'zkey'), b2: section(sections, 7, 'zkey'), c: section(sections, 8, 'zkey'), h: section(sections, 9, 'zkey') };
    return new Groth16Prover(curve, { r, nVars, nPublic, domainSize, power, alpha1, beta1, beta2, delta1, delta2 }, coeffs, points);
  }

  /** Proves a witness in circom's wtns binary form. */
  async prove(wtns: Uint8Array): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
    const { curve, header } = this;
    const { Fr, G1, G2 } = curve;
    const ws = readSections(wtns, 'wtns');
    const wh = section(ws, 1, 'wtns');
    const whv = new DataView(wh.buffer, wh.byteOffset, wh.byteLength);
    if (whv.getUint32(0, true) !== N8 || leBigInt(wh.subarray(4, 4 + N8)) !== header.r) throw new Error('the witness is not on the proving key’s curve');
    if (whv.getUint32(4 + N8, true) !== header.nVars) throw new Error(`the witness has ${whv.getUint32(4 + N8, true)} values; the circuit has ${header.nVars}`);
    const witness = section(ws, 2, 'wtns');
    if (witness.byteLength !== header.nVars * N8) throw new Error('the witness section has the wrong length');

    const [aT, bT, cT] = this.buildABC(witness);
    const inc = header.power === Fr.s ? Fr.shift : Fr.w[header.power + 1]!;
    const odd = async (t: Uint8Array) => Fr.fft(await Fr.batchApplyKey(await Fr.ifft(t), Fr.e(1), inc));
    const pOddT = await this.joinABC(await odd(aT), await odd(bT), await odd(cT));

    const sums = await this.linearSums(witness);
    const resH = await G1.multiExpAffine(this.points.h, pOddT);

    const r = Fr.random();
    const s = Fr.random();
    let piA = G1.add(G1.add(sums.a, header.alpha1), G1.timesFr(header.delta1, r));
    let piB = G2.add(G2.add(sums.b2, header.beta2), G2.timesFr(header.delta2, s));
    const pib1 = G1.add(G1.add(sums.b1, header.beta1), G1.timesFr(header.delta1, s));
    let piC = G1.add(sums.c, resH);
    piC = G1.add(piC, G1.timesFr(piA, s));
    piC = G1.add(piC, G1.timesFr(pib1, r));
    piC = G1.add(piC, G1.timesFr(header.delta1, Fr.neg(Fr.mul(r, s))));

    const publicSignals: string[] = [];
    for (let i = 1; i <= header.nPublic; i++) publicSignals.push(leBigInt(witness.subarray(i * N8, (i + 1) * N8)).toString());
    const strings = (v: unknown): unknown => (Array.isArray(v) ? v.map(strings) : String(v));
    piA = G1.toAffine(piA);
    piB = G2.toAffine(piB);
    piC = G1.toAffine(piC);
    return {
      proof: {
        pi_a: strings(G1.toObject(piA)) as string[],
        pi_b: strings(G2.toObject(piB)) as string[][],
        pi_c: strings(G1.toObject(piC)) as string[],
        protocol: 'groth16',
        curve: curve.name,
      },
      publicSignals,
    };
  }

  /** The A, B and C evaluations of the constraints at this witness (snarkjs's buildABC1). */
  private buildABC(witness: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
    const { Fr } = this.curve;
    const size = this.header.domainSize * N8;
    const out = [new Uint8Array(size), new Uint8Array(size)];
    const { m, c, s, value } = this.coeffs;
    for (let i = 0; i < m.length; i++) {
      const target = out[m[i]!]!;
      const at = c[i]! * N8;
      const w = witness.subarray(s[i]! * N8, s[i]! * N8 + N8);
      target.set(Fr.add(target.subarray(at, at + N8), Fr.mul(value[i]!, w)), at);
    }
    const [a, b] = out as [Uint8Array, Uint8Array];
    const cOut = new Uint8Array(size);
    for (let i = 0; i < size; i += N8) cOut.set(Fr.mul(a.subarray(i, i + N8), b.subarray(i, i + N8)), i);
    return [a, b, cOut];
  }

  private async joinABC(a: Uint8Array, b: Uint8Array, c: Uint8Array): Promise<Uint8Array> {
    const n = a.byteLength / N8;
    const [out] = await this.curve.tm.queueAction([
        { cmd: 'ALLOCSET', var: 0, buff: a },
        { cmd: 'ALLOCSET', var: 1, buff: b },
        { cmd: 'ALLOCSET', var: 2, buff: c },
        { cmd: 'ALLOC', var: 3, len: n * N8 },
        { cmd: 'CALL', fnName: 'qap_joinABC', params: [{ var: 0 }, { var: 1 }, { var: 2 }, { val: n }, { var: 3 }] },
        { cmd: 'CALL', fnName: 'frm_batchFromMontgomery', params: [{ var: 3 }, { val: n }, { var: 3 }] },
        { cmd: 'GET', out: 0, var: 3, len: n * N8 },
    ]);
    return out!;
  }

  /**
   * The witness-weighted sums of the A, B1, B2 and C points: the previous witness's sums plus the
   * sums over the values that changed, weighted by the change; in full when nothing is
   * remembered or most values changed.
   */
  private async linearSums(witness: Uint8Array): Promise<LinearSums> {
    const { G1, G2 } = this.curve;
    const { nVars, nPublic, r } = this.header;
    const firstC = nPublic + 1;
    const last = this.last;
    const changed: number[] = [];
    if (last) {
      for (let i = 0; i < nVars; i++) {
        const o = i * N8;
        for (let k = 0; k < N8; k++) {
          if (witness[o + k] !== last.witness[o + k]) {
            changed.push(i);
            break;
          }
        }
      }
    }
    let sums: LinearSums;
    if (!last || changed.length * 2 > nVars) {
      const { a, b1, b2, c } = this.points;
      sums = {
        witness: witness.slice(),
        a: await G1.multiExpAffine(a, witness),
        b1: await G1.multiExpAffine(b1, witness),
        b2: await G2.multiExpAffine(b2, witness),
        c: await G1.multiExpAffine(c, witness.subarray(firstC * N8)),
      };
    } else {
      const scalars = new Uint8Array(changed.length * N8);
      changed.forEach((i, k) => {
        const delta = leBigInt(witness.subarray(i * N8, (i + 1) * N8)) - leBigInt(last.witness.subarray(i * N8, (i + 1) * N8));
        bigIntLe(((delta % r) + r) % r, scalars, k * N8);
      });
      const pick = (points: Uint8Array, indices: number[], offset: number) => {
        const size = points.byteLength / (nVars - offset);
        const out = new Uint8Array(indices.length * size);
        indices.forEach((i, k) => out.set(points.subarray((i - offset) * size, (i - offset + 1) * size), k * size));
        return out;
      };
      const cStart = changed.findIndex((i) => i >= firstC);
      const cIndices = cStart < 0 ? [] : changed.slice(cStart);
      sums = {
        witness: witness.slice(),
        a: changed.length ? G1.add(last.a, await G1.multiExpAffine(pick(this.points.a, changed, 0), scalars)) : last.a,
        b1: changed.length ? G1.add(last.b1, await G1.multiExpAffine(pick(this.points.b1, changed, 0), scalars)) : last.b1,
        b2: changed.length ? G2.add(last.b2, await G2.multiExpAffine(pick(this.points.b2, changed, 0), scalars)) : last.b2,
        c: cIndices.length ? G1.add(last.c, await G1.multiExpAffine(pick(this.points.c, cIndices, firstC), scalars.subarray((changed.length - cIndices.length) * N8))) : last.c,
      };
    }
    this.last = sums;
    return sums;
  }
}
