// The consistency check of Bonawitz et al. 2017 (§4, malicious setting), as SecAgg+ uses it (Bell
// et al. 2020): before revealing any share, every survivor signs the survivor set U3 it was shown,
// and reveals only once enough of its own neighbours signed that very set. A server that shows
// different sets to different clients (to ask one holder for a client's self-mask share and another
// for its mask-key share) cannot gather those signatures without honest clients signing twice.
import { concatBytes } from '../bytes.js';
import { TroveError } from '../errors.js';
import { u32le, utf8 } from './graph.js';
import { sodiumNow } from './sodium.js';
import type { SurvivorSignature } from './wire.js';

const SURVIVORS_CONTEXT = utf8('trove/secagg/v2/survivors');

function survivorSetDigest(roundId: Uint8Array, survivors: readonly number[]): Uint8Array {
  const ids = new Uint8Array(4 * survivors.length);
  survivors.forEach((id, i) => ids.set(u32le(id), 4 * i));
  return sodiumNow().crypto_generichash(64, concatBytes(SURVIVORS_CONTEXT, roundId, u32le(survivors.length), ids), null);
}

/** The signer's Ed25519 signature over (round, survivor set). */
export function signSurvivorSet(roundId: Uint8Array, survivors: readonly number[], secretKey: Uint8Array): Uint8Array {
  return sodiumNow().crypto_sign_detached(survivorSetDigest(roundId, survivors), secretKey);
}

export function verifySurvivorSignature(roundId: Uint8Array, survivors: readonly number[], signature: Uint8Array, publicKey: Uint8Array | undefined): boolean {
  if (!publicKey || signature.length !== 64) return false;
  try {
    return sodiumNow().crypto_sign_verify_detached(signature, survivorSetDigest(roundId, survivors), publicKey);
  } catch {
    return false;
  }
}

/** What a client knows when the server names the survivors. */
export interface SurvivorView {
  self: number;
  roundId: Uint8Array;
  threshold: number;
  minimumSurvivors: number;
  /** The set the server names now. */
  survivors: readonly number[];
  /** Neighbours whose shares this client holds. */
  holds: ReadonlySet<number>;
  /** This client's neighbours in the graph. */
  isNeighbour: (id: number) => boolean;
  /** At the unmask stage: the set this client signed, and its neighbours' signatures on the set named now. */
  signed?: readonly number[];
  signatures?: readonly SurvivorSignature[];
  roster?: readonly Uint8Array[];
}

function refuse(message: string, details?: Record<string, unknown>): never {
  throw new TroveError('SECAGG_SURVIVORS_UNCONFIRMED', `${message} Nothing about your neighbours was revealed.`, details);
}

/**
 * Throws SECAGG_SURVIVORS_UNCONFIRMED unless the named survivor set is safe to act on: it names
 * this client, at least the round's minimum, no neighbour this client holds nothing from, and at
 * least t neighbours whose shares it holds; at the unmask stage, it is the set this client signed
 * and at least t of its neighbours in the set signed it too.
 */
export function checkSurvivorSet(view: SurvivorView): void {
  const named = new Set(view.survivors);
  if (!named.has(view.self)) refuse('The coordinator asked for shares but did not name this contributor among the survivors.');
  if (named.size < view.minimumSurvivors) {
    refuse(`The coordinator named ${named.size} survivors, fewer than the round's minimum of ${view.minimumSurvivors}.`, { survivors: named.size });
  }
  let neighboursNamed = 0;
  for (const id of named) {
    if (id === view.self || !view.isNeighbour(id)) continue;
    if (!view.holds.has(id)) refuse(`The coordinator named neighbour ${id} a survivor, but it never shared its keys with this contributor.`, { client: id });
    neighboursNamed++;
  }
  if (neighboursNamed < view.threshold) {
    refuse(`Only ${neighboursNamed} of this contributor's neighbours were named survivors, fewer than the threshold of ${view.threshold}.`, {
      have: neighboursNamed,
      need: view.threshold,
    });
  }
  if (view.signed === undefined) return;
  if (view.signed.length !== view.survivors.length || view.signed.some((id, i) => id !== view.survivors[i])) {
    refuse('The coordinator named a different set of survivors from the one this contributor signed.');
  }
  const valid = new Set<number>();
  for (const { signer, signature } of view.signatures ?? []) {
    if (signer === view.self || !view.isNeighbour(signer) || !named.has(signer) || valid.has(signer)) continue;
    if (verifySurvivorSignature(view.roundId, view.survivors, signature, view.roster?.[signer])) valid.add(signer);
  }
  if (valid.size < view.threshold) {
    refuse(`Only ${valid.size} neighbours confirmed the survivor set, fewer than the threshold of ${view.threshold}.`, {
      have: valid.size,
      need: view.threshold,
    });
  }
}
