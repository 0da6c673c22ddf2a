// The part of snarkjs's curve (ffjavascript) that the Groth16 prover uses; @types/snarkjs leaves
// `curves` out. Points and field elements are byte arrays in the curve's own representation.
import 'snarkjs';

declare module 'snarkjs' {
  interface CurveGroup {
    zero: Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    timesFr(a: Uint8Array, s: Uint8Array): Uint8Array;
    toAffine(a: Uint8Array): Uint8Array;
    toObject(a: Uint8Array): unknown;
    fromRprLEM(buff: Uint8Array, offset: number): Uint8Array;
    multiExpAffine(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
  }
  interface CurveField {
    n8: number;
    s: number;
    shift: Uint8Array;
    w: Uint8Array[];
    e(value: number | bigint): Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    mul(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    random(): Uint8Array;
    ifft(buff: Uint8Array): Promise<Uint8Array>;
    fft(buff: Uint8Array): Promise<Uint8Array>;
    batchApplyKey(buff: Uint8Array, first: Uint8Array, inc: Uint8Array): Promise<Uint8Array>;
  }
  interface Curve {
    name: string;
    Fr: CurveField;
    G1: CurveGroup;
    G2: CurveGroup;
    tm: { queueAction(task: unknown[]): Promise<Uint8Array[]> };
    /** Ends the curve's threads (and forgets the shared curve). */
    terminate(): Promise<void>;
  }
  export const curves: {
    getCurveFromQ(q: bigint): Promise<Curve>;
    getCurveFromName(name: string): Promise<Curve>;
  };
}
