// The server side of a SecAgg+ round as an explicit state machine with a deadline per stage.
// The server never sees an unmasked input: it keeps only the running sum of masked inputs and,
// after the unmask stage, removes exactly the masks that did not cancel.
//
//   advertise-keys         collect signed keys          -> NeighbourKeys to each client
//   share-keys             collect encrypted shares     -> ForwardedShares to each client
//   collect-masked-inputs  add masked inputs to the sum -> ConsistencyRequest (the survivor set) to each survivor
//   consistency-check      collect signatures on the set -> UnmaskRequest (set + neighbours' signatures) to each signer
//   unmask                 collect revealed shares      -> result (or Abort below the threshold)
//
// Time is passed in (`now`, milliseconds): the library has no timers and no transport.
import { TroveError } from '../errors.js';
import { verifySurvivorSignature } from './consistency.js';
import { NeighbourGraph } from './graph.js';
import { pairMaskKey, selfMaskKey, verifyMessage } from './keys.js';
import { addMask, addVector, reduceModulo, subtractMask } from './mask.js';
import { validateRoundParams, type RoundParams } from './params.js';
import { dequantizeSum, quantizationErrorBound } from './quantize.js';
import { combineShares, type SharePoint } from './shamir.js';
import { loadSodium, MaskStream, sodiumNow } from './sodium.js';
import { STAGE_OF_MESSAGE, stageIndex, type RoundStage } from './stages.js';
import {
  decodeAdvertiseKeys,
  decodeConsistencySignature,
  decodeEncryptedShares,
  decodeMaskedInput,
  decodeUnmaskResponse,
  encodeAbort,
  encodeConsistencyRequest,
  encodeForwardedShares,
  encodeNeighbourKeys,
  encodeSetup,
  encodeUnmaskRequest,
  MessageType,
  readHeader,
  sameBytes,
  ShareKind,
  type AdvertisedKeys,
  type ShareEnvelope,
  type SurvivorSignature,
} from './wire.js';

export interface Outgoing {
  to: number;
  message: Uint8Array;
}

export interface AggregateResult {
  /** The sum modulo 2^m of the survivors' quantized inputs. */
  quantizedSum: Uint32Array;
  /** The decoded sum of the survivors' (clipped) inputs. */
  sum: Float64Array;
  /** Clients whose inputs are in the sum, in increasing id order. */
  contributors: number[];
  /** Largest per-coordinate difference from the exact sum of the clipped inputs. */
  errorBound: number;
}

const COLLECTING: Partial<Record<RoundStage, MessageType>> = {
  'advertise-keys': MessageType.AdvertiseKeys,
  'share-keys': MessageType.EncryptedShares,
  'collect-masked-inputs': MessageType.MaskedInput,
  'consistency-check': MessageType.ConsistencySignature,
  unmask: MessageType.UnmaskResponse,
};

export class SecAggServer {
  readonly params: RoundParams;
  private readonly graph: NeighbourGraph;
  private stageNow: RoundStage = 'setup';
  private deadline = 0;
  private failure: TroveError | undefined;
  private resultValue: AggregateResult | undefined;

  /** Clients expected to answer in the current stage (those that completed the previous one). */
  private expected = new Set<number>();
  private readonly adverts = new Map<number, AdvertisedKeys>();
  /** U1: clients whose keys were forwarded. */
  private advertised: number[] = [];
  /** shares[owner] = envelopes for each holder. */
  private readonly shares = new Map<number, ShareEnvelope[]>();
  /** U2: clients whose shares were forwarded. */
  private shared: number[] = [];
  private sum: Uint32Array;
  private readonly maskedFrom = new Set<number>();
  /** U3: clients whose masked input is in the sum. */
  private survivors: number[] = [];
  private droppedAfterSharing: number[] = [];
  /** Survivors' signatures over the survivor set. */
  private readonly setSignatures = new Map<number, Uint8Array>();
  private readonly requested = new Map<number, Map<number, ShareKind>>();
  private readonly seedShares = new Map<number, SharePoint[]>();
  private readonly keyShares = new Map<number, SharePoint[]>();
  private readonly responded = new Set<number>();

  private constructor(
    params: RoundParams,
    private readonly roster: readonly Uint8Array[],
  ) {
    this.params = validateRoundParams(params);
    if (roster.length !== params.clientCount) throw new TroveError('INVALID_INPUT', 'The roster must list one signing key per invited client.');
    this.graph = new NeighbourGraph(params);
    this.sum = new Uint32Array(params.vectorLength);
  }

  static async create(params: RoundParams, roster: readonly Uint8Array[]): Promise<SecAggServer> {
    await loadSodium();
    return new SecAggServer(params, roster);
  }

  get stage(): RoundStage {
    return this.stageNow;
  }

  get result(): AggregateResult | undefined {
    return this.resultValue;
  }

  /** Why the round was aborted, when it was. */
  get abortError(): TroveError | undefined {
    return this.failure;
  }

  /** When the current stage may be closed even if some clients have not answered. */
  get stageDeadline(): number {
    return this.deadline;
  }

  /** Clients the current stage still waits for. */
  get waitingFor(): number[] {
    return [...this.expected].sort((a, b) => a - b);
  }

  neighboursOf(id: number): number[] {
    return this.graph.neighbours(id);
  }

  /** Opens the round: a Setup message for every invited client. */
  start(now: number): Outgoing[] {
    if (this.stageNow !== 'setup') throw new TroveError('SECAGG_WRONG_STAGE', 'The round has already started.');
    this.enter('advertise-keys', now, range(this.params.clientCount));
    return range(this.params.clientCount).map((to) => ({ to, message: encodeSetup(this.params, to) }));
  }

  /** True when every expected client answered or the stage's deadline has passed. */
  canAdvance(now: number): boolean {
    if (COLLECTING[this.stageNow] === undefined) return false;
    return this.expected.size === 0 || now >= this.deadline;
  }

  /**
   * Closes the current stage when canAdvance(now) and returns the next stage's messages (or Abort
   * messages when too few clients remain). Returns [] when the stage must still wait.
   */
  advance(now: number): Outgoing[] {
    if (!this.canAdvance(now)) return [];
    try {
      switch (this.stageNow) {
        case 'advertise-keys':
          return this.closeAdvertiseKeys(now);
        case 'share-keys':
          return this.closeShareKeys(now);
        case 'collect-masked-inputs':
          return this.closeCollectMaskedInputs(now);
        case 'consistency-check':
          return this.closeConsistencyCheck(now);
        case 'unmask':
          this.closeUnmask();
          return [];
        default:
          return [];
      }
    } catch (err) {
      if (err instanceof TroveError && (err.code === 'ROUND_ABORTED' || err.code === 'SECAGG_INCONSISTENT_SHARES')) {
        return this.abort(err);
      }
      throw err;
    }
  }

  /** Takes one client message. A rejected message (typed TroveError) changes nothing. */
  receive(message: Uint8Array): void {
    const header = readHeader(message);
    if (!sameBytes(header.roundId, this.params.roundId)) throw new TroveError('SECAGG_WRONG_ROUND', 'The message belongs to another round.');
    const sender = header.party;
    if (sender >= this.params.clientCount) throw new TroveError('SECAGG_MALFORMED', `Client ${sender} is not invited to this round.`, { sender });
    const collecting = COLLECTING[this.stageNow];
    if (header.type !== collecting) {
      const sentIn = STAGE_OF_MESSAGE[header.type];
      if (this.stageNow !== 'setup' && stageIndex(sentIn) < stageIndex(this.stageNow)) {
        if (this.answered(header.type, sender)) {
          throw new TroveError('SECAGG_REPLAY', `Client ${sender} repeated its ${sentIn} message.`, { sender });
        }
        throw new TroveError('SECAGG_WRONG_STAGE', `A ${sentIn} message from client ${sender} arrived after that stage closed.`, { sender });
      }
      throw new TroveError('SECAGG_WRONG_STAGE', `The round is in stage ${this.stageNow} and cannot take this message now.`, { sender });
    }
    if (!this.expected.has(sender)) {
      const already = this.hasAnswered(sender);
      throw new TroveError(
        already ? 'SECAGG_REPLAY' : 'SECAGG_WRONG_STAGE',
        already ? `Client ${sender} already answered this stage.` : `Client ${sender} is no longer part of this round.`,
        { sender },
      );
    }
    switch (header.type) {
      case MessageType.AdvertiseKeys:
        return this.onAdvertiseKeys(message, sender);
      case MessageType.EncryptedShares:
        return this.onEncryptedShares(message, sender);
      case MessageType.MaskedInput:
        return this.onMaskedInput(message, sender);
      case MessageType.ConsistencySignature:
        return this.onConsistencySignature(message, sender);
      case MessageType.UnmaskResponse:
        return this.onUnmaskResponse(message, sender);
      default:
        throw new TroveError('SECAGG_MALFORMED', 'Unexpected message type.');
    }
  }

  private hasAnswered(sender: number): boolean {
    const type = COLLECTING[this.stageNow];
    return type !== undefined && this.answered(type, sender);
  }

  /** Whether a message of `type` from `sender` was already accepted. */
  private answered(type: MessageType, sender: number): boolean {
    switch (type) {
      case MessageType.AdvertiseKeys:
        return this.adverts.has(sender);
      case MessageType.EncryptedShares:
        return this.shares.has(sender);
      case MessageType.MaskedInput:
        return this.maskedFrom.has(sender);
      case MessageType.ConsistencySignature:
        return this.setSignatures.has(sender);
      case MessageType.UnmaskResponse:
        return this.responded.has(sender);
      default:
        return false;
    }
  }

  private enter(stage: RoundStage, now: number, expected: number[]): void {
    this.stageNow = stage;
    this.expected = new Set(expected);
    const d = this.params.deadlines;
    const span =
      stage === 'advertise-keys' ? d.advertiseKeysMs : stage === 'share-keys' ? d.shareKeysMs : stage === 'collect-masked-inputs' ? d.collectMaskedInputsMs : d.unmaskMs; // the consistency check shares the unmask deadline
    this.deadline = now + span;
  }

  private abort(error: TroveError): Outgoing[] {
    // Everyone who took part: every later participant advertised keys first.
    const notify = new Set<number>(this.adverts.keys());
    this.failure = error;
    this.stageNow = 'aborted';
    this.expected.clear();
    this.sum = new Uint32Array(0);
    return [...notify].sort((a, b) => a - b).map((to) => ({ to, message: encodeAbort(this.params.roundId, to, error.message) }));
  }

  private requireAtLeast(what: string, have: number, need: number): void {
    if (have < need) throw new TroveError('ROUND_ABORTED', `The round was abandoned: only ${have} ${what}, fewer than ${need}.`, { have, need });
  }

  // --- advertise-keys ---------------------------------------------------------------------------

  private onAdvertiseKeys(message: Uint8Array, sender: number): void {
    const { keys } = decodeAdvertiseKeys(message);
    verifyMessage(message, this.roster[sender], sender);
    this.adverts.set(sender, { ...keys, raw: message.slice() });
    this.expected.delete(sender);
  }

  private closeAdvertiseKeys(now: number): Outgoing[] {
    const t = this.params.threshold;
    this.advertised = [...this.adverts.keys()].sort((a, b) => a - b);
    this.requireAtLeast('clients advertised keys', this.advertised.length, Math.max(t, this.params.minimumSurvivors));
    const out: Outgoing[] = [];
    for (const id of this.advertised) {
      const adverts = this.graph
        .neighbours(id)
        .filter((v) => this.adverts.has(v))
        .map((v) => this.adverts.get(v)?.raw ?? new Uint8Array(0));
      out.push({ to: id, message: encodeNeighbourKeys(this.params.roundId, id, adverts) });
    }
    this.enter('share-keys', now, this.advertised);
    return out;
  }

  // --- share-keys -------------------------------------------------------------------------------

  private onEncryptedShares(message: Uint8Array, sender: number): void {
    const { envelopes } = decodeEncryptedShares(message, this.params.neighbourCount);
    // A client must share with exactly its neighbours that advertised keys: otherwise two
    // neighbours could disagree on whether their pairwise mask is in the sum.
    const expectedHolders = this.graph.neighbours(sender).filter((v) => this.adverts.has(v));
    const seen = new Set<number>();
    for (const e of envelopes) {
      if (!this.graph.areNeighbours(sender, e.peer)) {
        throw new TroveError('SECAGG_NOT_NEIGHBOUR', `Client ${sender} sent shares to client ${e.peer}, which is not its neighbour.`, { sender, to: e.peer });
      }
      if (seen.has(e.peer)) throw new TroveError('SECAGG_REPLAY', `Client ${sender} sent shares to client ${e.peer} twice.`, { sender });
      seen.add(e.peer);
    }
    if (seen.size !== expectedHolders.length || !expectedHolders.every((v) => seen.has(v))) {
      throw new TroveError('SECAGG_MALFORMED', `Client ${sender} did not share with exactly its neighbours that advertised keys.`, { sender });
    }
    verifyMessage(message, this.roster[sender], sender);
    this.shares.set(
      sender,
      envelopes.map((e) => ({ peer: e.peer, ciphertext: e.ciphertext.slice() })),
    );
    this.expected.delete(sender);
  }

  private closeShareKeys(now: number): Outgoing[] {
    this.shared = [...this.shares.keys()].sort((a, b) => a - b);
    this.requireAtLeast('clients shared their keys', this.shared.length, Math.max(this.params.threshold, this.params.minimumSurvivors));
    const inbox = new Map<number, ShareEnvelope[]>(this.shared.map((id) => [id, []]));
    for (const owner of this.shared) {
      for (const e of this.shares.get(owner) ?? []) inbox.get(e.peer)?.push({ peer: owner, ciphertext: e.ciphertext });
    }
    const out = this.shared.map((id) => ({ to: id, message: encodeForwardedShares(this.params.roundId, id, inbox.get(id) ?? []) }));
    this.enter('collect-masked-inputs', now, this.shared);
    return out;
  }

  // --- collect-masked-inputs ----------------------------------------------------------------------

  private onMaskedInput(message: Uint8Array, sender: number): void {
    const { masked } = decodeMaskedInput(message, this.params.vectorLength);
    verifyMessage(message, this.roster[sender], sender);
    addVector(this.sum, masked);
    this.maskedFrom.add(sender);
    this.expected.delete(sender);
  }

  private closeCollectMaskedInputs(now: number): Outgoing[] {
    this.survivors = [...this.maskedFrom].sort((a, b) => a - b);
    this.requireAtLeast('clients sent masked inputs', this.survivors.length, Math.max(this.params.threshold, this.params.minimumSurvivors));
    // Each survivor's self-mask comes back only from t of its neighbours in the set, and each
    // survivor refuses to sign a set naming fewer (consistency.ts): end here, not a stage later.
    for (const id of this.survivors) {
      const named = this.graph.neighbours(id).filter((v) => this.maskedFrom.has(v)).length;
      this.requireAtLeast(`of client ${id}'s neighbours sent masked inputs`, named, this.params.threshold);
    }
    this.droppedAfterSharing = this.shared.filter((id) => !this.maskedFrom.has(id));
    const out = this.survivors.map((id) => ({ to: id, message: encodeConsistencyRequest(this.params.roundId, id, this.survivors) }));
    this.enter('consistency-check', now, this.survivors);
    return out;
  }

  // --- consistency-check --------------------------------------------------------------------------

  private onConsistencySignature(message: Uint8Array, sender: number): void {
    const { setSignature } = decodeConsistencySignature(message);
    verifyMessage(message, this.roster[sender], sender);
    if (!verifySurvivorSignature(this.params.roundId, this.survivors, setSignature, this.roster[sender])) {
      throw new TroveError('SECAGG_BAD_SIGNATURE', `Client ${sender} did not sign the survivor set it was sent.`, { sender });
    }
    this.setSignatures.set(sender, setSignature);
    this.expected.delete(sender);
  }

  private closeConsistencyCheck(now: number): Outgoing[] {
    const signers = [...this.setSignatures.keys()].sort((a, b) => a - b);
    this.requireAtLeast('survivors signed the survivor set', signers.length, this.params.threshold);
    const out: Outgoing[] = [];
    for (const id of signers) {
      // Only neighbours that shared with `id` (U2) are asked about: those in the survivor set for
      // their self-mask seed, the others for their mask key. The client derives the same split.
      const asked = new Map<number, ShareKind>();
      for (const v of this.graph.neighbours(id)) {
        if (this.shares.has(v)) asked.set(v, this.maskedFrom.has(v) ? ShareKind.SelfMaskSeed : ShareKind.MaskKey);
      }
      this.requested.set(id, asked);
      const signatures: SurvivorSignature[] = this.graph
        .neighbours(id)
        .filter((v) => this.setSignatures.has(v))
        .map((v) => ({ signer: v, signature: this.setSignatures.get(v) ?? new Uint8Array(0) }));
      out.push({ to: id, message: encodeUnmaskRequest(this.params.roundId, id, { survivors: this.survivors, signatures }) });
    }
    this.enter('unmask', now, signers);
    return out;
  }

  // --- unmask -----------------------------------------------------------------------------------

  private onUnmaskResponse(message: Uint8Array, sender: number): void {
    const { shares } = decodeUnmaskResponse(message, this.params.neighbourCount);
    const asked = this.requested.get(sender) ?? new Map<number, ShareKind>();
    const seen = new Set<number>();
    for (const s of shares) {
      if (asked.get(s.owner) !== s.kind) {
        throw new TroveError('SECAGG_MALFORMED', `Client ${sender} revealed a share that was not asked for.`, { sender, owner: s.owner });
      }
      if (seen.has(s.owner)) throw new TroveError('SECAGG_REPLAY', `Client ${sender} revealed a share of client ${s.owner} twice.`, { sender });
      seen.add(s.owner);
    }
    verifyMessage(message, this.roster[sender], sender);
    for (const s of shares) {
      const table = s.kind === ShareKind.SelfMaskSeed ? this.seedShares : this.keyShares;
      let list = table.get(s.owner);
      if (!list) table.set(s.owner, (list = []));
      list.push({ x: sender + 1, y: s.share.slice() });
    }
    this.responded.add(sender);
    this.expected.delete(sender);
  }

  private closeUnmask(): void {
    const p = this.params;
    this.requireAtLeast('survivors revealed their shares', this.responded.size, p.threshold);
    // Check that every secret can be recovered before spending time on any mask.
    for (const id of this.survivors) this.requireAtLeast(`shares of client ${id}'s self-mask`, this.seedShares.get(id)?.length ?? 0, p.threshold);
    for (const id of this.droppedAfterSharing) this.requireAtLeast(`shares of client ${id}'s mask key`, this.keyShares.get(id)?.length ?? 0, p.threshold);

    const stream = new MaskStream();
    const s = sodiumNow();
    try {
      for (const id of this.survivors) {
        const seed = combineShares(this.seedShares.get(id) ?? [], p.threshold);
        subtractMask(this.sum, stream, selfMaskKey(seed, p.roundId, id));
      }
      for (const id of this.droppedAfterSharing) {
        const secretKey = combineShares(this.keyShares.get(id) ?? [], p.threshold, false);
        const advertised = this.adverts.get(id)?.maskPublicKey;
        if (!advertised || !sameBytes(s.crypto_scalarmult_base(secretKey), advertised)) {
          throw new TroveError('SECAGG_INCONSISTENT_SHARES', `The shares of client ${id}'s mask key do not match its advertised key.`, { client: id });
        }
        // Each surviving neighbour v of the dropped client u added +mask(u,v) if v < u, else -mask.
        for (const v of this.graph.neighbours(id)) {
          if (!this.maskedFrom.has(v)) continue;
          const peerKey = this.adverts.get(v)?.maskPublicKey;
          if (!peerKey) continue;
          const key = pairMaskKey(secretKey, peerKey, p.roundId, id, v);
          if (v < id) subtractMask(this.sum, stream, key);
          else addMask(this.sum, stream, key);
        }
        s.memzero(secretKey);
      }
    } finally {
      stream.dispose();
    }
    reduceModulo(this.sum, p.modulusBits);
    const count = this.survivors.length;
    this.resultValue = {
      quantizedSum: this.sum,
      sum: dequantizeSum(this.sum, p, count),
      contributors: [...this.survivors],
      errorBound: quantizationErrorBound(p, count),
    };
    this.stageNow = 'done';
    this.expected.clear();
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
