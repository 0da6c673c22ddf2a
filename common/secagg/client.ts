// The client side of a SecAgg+ round as an explicit state machine. The client consumes one server
// message at a time and answers with at most one message; a message it rejects (with a typed
// TroveError) leaves its state untouched, so a hostile or garbled message cannot derail it.
//
//   setup                  <- Setup            -> AdvertiseKeys (signed X25519 keys)
//   advertise-keys         <- NeighbourKeys    -> EncryptedShares (Shamir shares for each neighbour)
//   share-keys             <- ForwardedShares  -> MaskedInput (input + self-mask + pairwise masks)
//   collect-masked-inputs  <- ConsistencyRequest -> ConsistencySignature (signs the survivor set)
//   consistency-check      <- UnmaskRequest    -> UnmaskResponse (one kind of share per neighbour,
//                                                 once t neighbours signed the same set)
//   done | aborted
import { TroveError } from '../errors.js';
import { checkSurvivorSet, signSurvivorSet, type SurvivorView } from './consistency.js';
import { NeighbourGraph } from './graph.js';
import { openShares, pairMaskKey, sealShares, selfMaskKey, signMessage, verifyMessage, type SigningKeyPair } from './keys.js';
import { addMask, reduceModulo, subtractMask } from './mask.js';
import { validateRoundParams, type RoundParams } from './params.js';
import { quantizeInto } from './quantize.js';
import { splitSecret } from './shamir.js';
import { loadSodium, MaskStream, randomBytes, sodiumNow } from './sodium.js';
import { stageIndex, type RoundStage } from './stages.js';
import {
  decodeAbort,
  decodeAdvertiseKeys,
  decodeConsistencyRequest,
  decodeForwardedShares,
  decodeNeighbourKeys,
  decodeSetup,
  decodeUnmaskRequest,
  encodeAdvertiseKeys,
  encodeConsistencySignature,
  encodeEncryptedShares,
  encodeMaskedInput,
  encodeUnmaskResponse,
  malformed,
  MessageType,
  readHeader,
  sameBytes,
  ShareKind,
  type AdvertisedKeys,
  type RevealedShare,
  type ShareEnvelope,
} from './wire.js';

export interface SecAggClientOptions {
  /** This client's id: its index in the roster. */
  id: number;
  signingKeys: SigningKeyPair;
  /** Ed25519 public keys of every invited client, by id, as published for the job. */
  roster: readonly Uint8Array[];
  /** The round this client agreed to join; messages for any other round are refused. */
  roundId: Uint8Array;
  /** The vector to aggregate; may instead be given later with setInput(). */
  input?: ArrayLike<number>;
  /** Checks the server's parameters against what the client agreed to; throw to refuse them. */
  acceptParams?: (params: RoundParams) => void;
  /**
   * The survivor-set check run before signing the set and before revealing any share. Always the
   * default (checkSurvivorSet) in the product; tests replace it to show what it prevents.
   */
  checkSurvivors?: (view: SurvivorView) => void;
  /**
   * Adds this client's share of the DP noise to its quantized vector (integers modulo 2^32), after
   * quantization and before masking, so nothing clamps or rounds the noise afterwards.
   */
  addNoise?: (quantized: Uint32Array, params: RoundParams) => void;
  /** BLAKE2b-256 of the model this client was served (modelHashOf); the round's Setup must name it. */
  modelHash?: Uint8Array;
  /**
   * Compares a neighbour's signed model hash with this client's. Always the default in the product;
   * tests replace it to show what it prevents.
   */
  checkNeighbourModel?: (ours: Uint8Array, theirs: Uint8Array, neighbour: number) => void;
}

/** Throws SECAGG_MODEL_MISMATCH unless a neighbour was served the same model as this client. */
export function requireSameModel(ours: Uint8Array, theirs: Uint8Array, neighbour: number): void {
  if (!sameBytes(ours, theirs)) {
    throw new TroveError(
      'SECAGG_MODEL_MISMATCH',
      `Contributor ${neighbour} was served a different model from yours: the coordinator may be singling someone out. Nothing was sent.`,
      { neighbour },
    );
  }
}

/** The message type that ends each waiting stage of the client. */
const AWAITED: Partial<Record<RoundStage, MessageType>> = {
  setup: MessageType.Setup,
  'advertise-keys': MessageType.NeighbourKeys,
  'share-keys': MessageType.ForwardedShares,
  'collect-masked-inputs': MessageType.ConsistencyRequest,
  'consistency-check': MessageType.UnmaskRequest,
};
const STAGE_ENDED_BY: Partial<Record<MessageType, RoundStage>> = {
  [MessageType.Setup]: 'setup',
  [MessageType.NeighbourKeys]: 'advertise-keys',
  [MessageType.ForwardedShares]: 'share-keys',
  [MessageType.ConsistencyRequest]: 'collect-masked-inputs',
  [MessageType.UnmaskRequest]: 'consistency-check',
};

interface HeldShares {
  seedShare: Uint8Array;
  keyShare: Uint8Array;
}

export class SecAggClient {
  readonly id: number;
  private stageNow: RoundStage = 'setup';
  private abortReason: string | undefined;
  private params: RoundParams | undefined;
  private graph: NeighbourGraph | undefined;
  private input: ArrayLike<number> | undefined;
  private cipherKeys: { publicKey: Uint8Array; privateKey: Uint8Array } | undefined;
  private maskKeys: { publicKey: Uint8Array; privateKey: Uint8Array } | undefined;
  private selfMaskSeed: Uint8Array | undefined;
  /** Neighbours whose signed keys arrived, by id. */
  private readonly neighbourKeys = new Map<number, AdvertisedKeys>();
  /** Shares this client holds for each neighbour that shared with it. */
  private readonly held = new Map<number, HeldShares>();
  /** What this client has revealed about each neighbour: it never reveals both kinds. */
  private readonly revealed = new Map<number, ShareKind>();
  private readonly stream = new MaskStream();
  /** Pairwise mask keys with each neighbour that advertised keys. */
  private pairKeys = new Map<number, Uint8Array>();
  /** The survivor set this client signed in the consistency check. */
  private signedSurvivors: number[] | undefined;

  private constructor(private readonly options: SecAggClientOptions) {
    this.id = options.id;
    this.input = options.input;
  }

  static async create(options: SecAggClientOptions): Promise<SecAggClient> {
    await loadSodium();
    if (!Number.isInteger(options.id) || options.id < 0 || options.id >= options.roster.length) {
      throw new TroveError('INVALID_INPUT', 'The client id is not in the roster.');
    }
    return new SecAggClient(options);
  }

  get stage(): RoundStage {
    return this.stageNow;
  }

  get roundParams(): RoundParams | undefined {
    return this.params;
  }

  get abortedBecause(): string | undefined {
    return this.abortReason;
  }

  /** Gives the vector to aggregate; needed before the masked input is computed. */
  setInput(input: ArrayLike<number>): void {
    if (this.params && input.length !== this.params.vectorLength) {
      throw new TroveError('INVALID_INPUT', `The update has ${input.length} values, the round expects ${this.params.vectorLength}.`);
    }
    this.input = input;
  }

  /** Leaves the round without finishing it (the contributor refused it or gave up), wiping its secrets. */
  abandon(reason: string): void {
    if (this.stageNow === 'done' || this.stageNow === 'aborted') return;
    this.abort(reason);
  }

  /** Handles one server message and returns the reply to send, if any. */
  handle(message: Uint8Array): Uint8Array | undefined {
    if (this.stageNow === 'done' || this.stageNow === 'aborted') {
      throw new TroveError('SECAGG_WRONG_STAGE', `This client has ${this.stageNow === 'done' ? 'finished' : 'left'} the round.`);
    }
    const header = readHeader(message);
    if (!sameBytes(header.roundId, this.options.roundId)) {
      throw new TroveError('SECAGG_WRONG_ROUND', 'The message belongs to another round.');
    }
    if (header.party !== this.id) throw malformed('The message is addressed to another client.', { to: header.party });
    if (header.type === MessageType.Abort) {
      this.abort(`the server aborted the round: ${decodeAbort(message).reason}`);
      return undefined;
    }
    const awaited = AWAITED[this.stageNow];
    if (header.type !== awaited) {
      const ends = STAGE_ENDED_BY[header.type];
      if (ends !== undefined && stageIndex(ends) < stageIndex(this.stageNow)) {
        throw new TroveError('SECAGG_REPLAY', 'The message repeats a stage this client has already completed.');
      }
      throw new TroveError('SECAGG_WRONG_STAGE', `The client is in stage ${this.stageNow} and cannot take this message now.`, { type: header.type });
    }
    switch (header.type) {
      case MessageType.Setup:
        return this.onSetup(message);
      case MessageType.NeighbourKeys:
        return this.onNeighbourKeys(message);
      case MessageType.ForwardedShares:
        return this.onForwardedShares(message);
      case MessageType.ConsistencyRequest:
        return this.onConsistencyRequest(message);
      case MessageType.UnmaskRequest:
        return this.onUnmaskRequest(message);
      default:
        throw malformed('Unexpected message type.');
    }
  }

  private requireParams(): { params: RoundParams; graph: NeighbourGraph } {
    if (!this.params || !this.graph) throw new Error('round parameters not set');
    return { params: this.params, graph: this.graph };
  }

  private abort(reason: string): void {
    this.stageNow = 'aborted';
    this.abortReason = reason;
    this.wipe();
  }

  private abortBelowThreshold(what: string, have: number, need: number): never {
    const reason = `only ${have} ${what}, fewer than the threshold of ${need}`;
    this.abort(reason);
    throw new TroveError('ROUND_ABORTED', `The round was abandoned: ${reason}.`, { have, need });
  }

  private wipe(): void {
    const s = sodiumNow();
    if (this.stageNow === 'aborted') {
      // A client that leaves the round reveals nothing later: drop the shares it holds.
      for (const held of this.held.values()) {
        s.memzero(held.seedShare);
        s.memzero(held.keyShare);
      }
      this.held.clear();
    }
    if (this.selfMaskSeed) s.memzero(this.selfMaskSeed);
    if (this.maskKeys) s.memzero(this.maskKeys.privateKey);
    if (this.cipherKeys) s.memzero(this.cipherKeys.privateKey);
    for (const key of this.pairKeys.values()) s.memzero(key);
    this.pairKeys.clear();
    this.selfMaskSeed = undefined;
    this.stream.dispose();
  }

  private onSetup(message: Uint8Array): Uint8Array {
    const { params } = decodeSetup(message);
    validateRoundParams(params);
    if (params.clientCount !== this.options.roster.length) {
      throw new TroveError('INVALID_INPUT', 'The round invites a different set of clients than the published roster.');
    }
    if (this.input && this.input.length !== params.vectorLength) {
      throw new TroveError('INVALID_INPUT', `The round expects ${params.vectorLength} values, this client's update has ${this.input.length}.`);
    }
    this.options.acceptParams?.(params);
    if (this.options.modelHash && !sameBytes(this.options.modelHash, params.modelHash)) {
      throw new TroveError('SECAGG_MODEL_MISMATCH', 'The round names a different model from the one you were served. Nothing was sent.');
    }
    const s = sodiumNow();
    this.params = params;
    this.graph = new NeighbourGraph(params);
    this.cipherKeys = s.crypto_box_keypair();
    this.maskKeys = s.crypto_box_keypair();
    this.stageNow = 'advertise-keys';
    const body = encodeAdvertiseKeys(params.roundId, this.id, this.cipherKeys.publicKey, this.maskKeys.publicKey, params.modelHash);
    return signMessage(body, this.options.signingKeys.secretKey);
  }

  private onNeighbourKeys(message: Uint8Array): Uint8Array {
    const { params, graph } = this.requireParams();
    const { adverts } = decodeNeighbourKeys(message, params.neighbourCount);
    const accepted = new Map<number, AdvertisedKeys>();
    for (const raw of adverts) {
      const { header, keys } = decodeAdvertiseKeys(raw);
      if (!sameBytes(header.roundId, params.roundId)) throw new TroveError('SECAGG_WRONG_ROUND', 'A neighbour key belongs to another round.');
      if (!graph.areNeighbours(this.id, keys.sender)) {
        throw new TroveError('SECAGG_NOT_NEIGHBOUR', `Client ${keys.sender} is not a neighbour of this client.`, { sender: keys.sender });
      }
      if (accepted.has(keys.sender)) throw new TroveError('SECAGG_REPLAY', `Client ${keys.sender}'s keys appear twice.`);
      verifyMessage(raw, this.options.roster[keys.sender], keys.sender);
      accepted.set(keys.sender, keys);
    }
    const checkModel = this.options.checkNeighbourModel ?? requireSameModel;
    try {
      for (const keys of accepted.values()) checkModel(params.modelHash, keys.modelHash, keys.sender);
    } catch (err) {
      // A coordinator that served two models learns nothing more from this client in this round.
      this.abort(err instanceof Error ? err.message : String(err));
      throw err;
    }
    if (accepted.size < params.threshold) this.abortBelowThreshold('neighbours advertised keys', accepted.size, params.threshold);

    const holders = [...accepted.keys()].sort((a, b) => a - b);
    const cipherKeys = this.cipherKeys;
    const maskKeys = this.maskKeys;
    if (!cipherKeys || !maskKeys) throw new Error('keys missing');
    // Agree on every pairwise mask key now: an unusable advertised key is rejected before this
    // client commits to anything, and masking later needs no key agreement.
    const pairKeys = new Map<number, Uint8Array>();
    for (const holder of holders) {
      const peerKey = accepted.get(holder)?.maskPublicKey ?? new Uint8Array(32);
      pairKeys.set(holder, pairMaskKey(maskKeys.privateKey, peerKey, params.roundId, this.id, holder));
    }
    const seed = randomBytes(32);
    const seedShares = splitSecret(seed, holders, params.threshold, randomBytes(32 * (params.threshold - 1)));
    const keyShares = splitSecret(maskKeys.privateKey, holders, params.threshold, randomBytes(32 * (params.threshold - 1)));
    const envelopes: ShareEnvelope[] = holders.map((holder) => ({
      peer: holder,
      ciphertext: sealShares(
        cipherKeys.privateKey,
        accepted.get(holder)?.cipherPublicKey ?? new Uint8Array(32),
        params.roundId,
        this.id,
        holder,
        seedShares.get(holder) ?? new Uint8Array(0),
        keyShares.get(holder) ?? new Uint8Array(0),
      ),
    }));
    for (const [id, keys] of accepted) this.neighbourKeys.set(id, keys);
    this.pairKeys = pairKeys;
    this.selfMaskSeed = seed;
    this.stageNow = 'share-keys';
    return signMessage(encodeEncryptedShares(params.roundId, this.id, envelopes), this.options.signingKeys.secretKey);
  }

  private onForwardedShares(message: Uint8Array): Uint8Array {
    const { params } = this.requireParams();
    const { envelopes } = decodeForwardedShares(message, params.neighbourCount);
    const cipherKeys = this.cipherKeys;
    const maskKeys = this.maskKeys;
    const seed = this.selfMaskSeed;
    if (!cipherKeys || !maskKeys || !seed) throw new Error('keys missing');
    const received = new Map<number, HeldShares>();
    for (const e of envelopes) {
      const keys = this.neighbourKeys.get(e.peer);
      if (!keys) {
        throw new TroveError('SECAGG_NOT_NEIGHBOUR', `Shares from client ${e.peer}, which is not a neighbour that advertised keys.`, { sender: e.peer });
      }
      if (received.has(e.peer)) throw new TroveError('SECAGG_REPLAY', `Shares from client ${e.peer} appear twice.`);
      received.set(e.peer, openShares(cipherKeys.privateKey, keys.cipherPublicKey, params.roundId, e.peer, this.id, e.ciphertext));
    }
    if (received.size < params.threshold) this.abortBelowThreshold('neighbours shared their keys', received.size, params.threshold);
    const input = this.input;
    if (!input) throw new TroveError('INVALID_INPUT', 'The update to aggregate was not given before masking.');
    if (input.length !== params.vectorLength) throw new TroveError('INVALID_INPUT', 'The update has the wrong length for this round.');

    const d = params.vectorLength;
    const masked = new Uint32Array(d);
    // Rounding noise from a keystream under a fresh random key: one call, no 4d-byte allocation.
    this.stream.expand(randomBytes(32), d, (rounding) => quantizeInto(input, params, rounding, masked));
    this.options.addNoise?.(masked, params);
    addMask(masked, this.stream, selfMaskKey(seed, params.roundId, this.id));
    for (const peer of received.keys()) {
      const key = this.pairKeys.get(peer);
      if (!key) continue;
      // The lower id adds the mask and the higher id subtracts it, so the pair cancels in the sum.
      if (this.id < peer) addMask(masked, this.stream, key);
      else subtractMask(masked, this.stream, key);
    }
    reduceModulo(masked, params.modulusBits);
    for (const [peer, shares] of received) this.held.set(peer, shares);
    this.input = undefined;
    // The client's own secrets are no longer needed: its neighbours hold the shares.
    this.wipe();
    this.stageNow = 'collect-masked-inputs';
    return signMessage(encodeMaskedInput(params.roundId, this.id, masked), this.options.signingKeys.secretKey);
  }

  /** Runs the survivor-set check; a failed check ends this client's part in the round. */
  private checkSurvivors(view: Omit<SurvivorView, 'self' | 'roundId' | 'threshold' | 'minimumSurvivors' | 'holds' | 'isNeighbour'>): void {
    const { params, graph } = this.requireParams();
    const check = this.options.checkSurvivors ?? checkSurvivorSet;
    try {
      check({
        ...view,
        self: this.id,
        roundId: params.roundId,
        threshold: params.threshold,
        minimumSurvivors: params.minimumSurvivors,
        holds: new Set(this.held.keys()),
        isNeighbour: (id) => graph.areNeighbours(this.id, id),
      });
    } catch (err) {
      this.abort(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  private onConsistencyRequest(message: Uint8Array): Uint8Array {
    const { params } = this.requireParams();
    const { survivors } = decodeConsistencyRequest(message, params.clientCount);
    this.checkSurvivors({ survivors });
    this.signedSurvivors = survivors;
    this.stageNow = 'consistency-check';
    const setSignature = signSurvivorSet(params.roundId, survivors, this.options.signingKeys.secretKey);
    return signMessage(encodeConsistencySignature(params.roundId, this.id, setSignature), this.options.signingKeys.secretKey);
  }

  private onUnmaskRequest(message: Uint8Array): Uint8Array {
    const { params } = this.requireParams();
    const { request } = decodeUnmaskRequest(message, params.clientCount, params.neighbourCount);
    this.checkSurvivors({ survivors: request.survivors, signed: this.signedSurvivors ?? [], signatures: request.signatures, roster: this.options.roster });
    // The client derives what to reveal from the one set it signed: the self-mask seed share of each
    // neighbour named a survivor, the mask-key share of each other neighbour it holds shares of.
    const named = new Set(request.survivors);
    const shares: RevealedShare[] = [];
    for (const [owner, held] of [...this.held].sort((a, b) => a[0] - b[0])) {
      const kind = named.has(owner) ? ShareKind.SelfMaskSeed : ShareKind.MaskKey;
      if (this.revealed.has(owner) && this.revealed.get(owner) !== kind) {
        throw new TroveError('SECAGG_UNSAFE_REQUEST', `Revealing client ${owner}'s other share would expose its input.`, { client: owner });
      }
      this.revealed.set(owner, kind);
      shares.push({ owner, kind, share: kind === ShareKind.SelfMaskSeed ? held.seedShare : held.keyShare });
    }
    this.stageNow = 'done';
    const reply = signMessage(encodeUnmaskResponse(params.roundId, this.id, shares), this.options.signingKeys.secretKey);
    for (const held of this.held.values()) {
      sodiumNow().memzero(held.seedShare);
      sodiumNow().memzero(held.keyShare);
    }
    this.held.clear();
    return reply;
  }
}

