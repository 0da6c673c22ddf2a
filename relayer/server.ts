// Anyone's claim relayer: an HTTP service (loopback by default) that takes contributors' claims,
// verifies each off-chain before spending gas, keeps the accepted ones on disk, and submits them
// in batches per round, paying the gas and taking the fee each proof grants it. It answers with
// each claim's status and, once sent, its transaction.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Contract, getAddress, type Provider, type Signer } from 'ethers';
import { toRoundClaim } from '../common/jobs/claims.js';
import { TroveError, isTroveError } from '../common/errors.js';
import {
  MAX_CLAIMS_PER_REQUEST,
  MAX_RELAYER_BODY_BYTES,
  submitRequestSchema,
  type ClaimStatus,
  type RelayedClaim,
  type RelayerInfo,
} from '../common/claims/relayer-protocol.js';
import { RelayerStore, type StoredClaim } from './store.js';
import { ClaimVerifier } from './verify.js';

export interface RelayerOptions {
  signer: Signer;
  provider: Provider;
  chainId: bigint;
  roundRewards: string;
  /** Fee per claim, in the round's token units. */
  fee: bigint;
  /** The SQLite file accepted claims are kept in. */
  storeFile: string;
  host?: string;
  port?: number;
  /** How often pending claims are sent, as one transaction per round. */
  batchMs?: number;
  /** Requests one address may make per minute. */
  requestsPerMinute?: number;
  onEvent?: (line: string) => void;
}

const ABI = [
  'function claim(uint256 jobId, uint256 round, tuple(address recipient, address relayer, uint256 fee, uint256 nullifier, uint256[8] points)[] claims)',
  'event Claimed(uint256 indexed jobId, uint256 indexed round, uint256[] nullifiers)',
  'event ClaimSkipped(uint256 indexed jobId, uint256 indexed round, uint256 nullifier, bytes4 reason)',
];
/** Gas per claim (Groth16 verification + nullifier + credit) and per transaction, with headroom. */
const GAS_PER_CLAIM = 400_000n;
const GAS_PER_TX = 150_000n;

const STATUS_OF_CODE: Partial<Record<string, number>> = { INVALID_INPUT: 400, PAYLOAD_TOO_LARGE: 413, RATE_LIMITED: 429, CHAIN_UNREACHABLE: 503, JOB_NOT_FOUND: 404 };

export class RelayerService {
  private readonly store: RelayerStore;
  private verifierOf: ClaimVerifier | undefined;
  private readonly rewards: Contract;
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private relayerAddress = '';

  constructor(private readonly o: RelayerOptions) {
    this.store = new RelayerStore(o.storeFile);
    this.rewards = new Contract(o.roundRewards, ABI, o.signer);
  }

  /** Starts listening and resumes whatever was accepted before a restart. */
  async start(): Promise<string> {
    this.relayerAddress = getAddress(await this.o.signer.getAddress());
    this.verifierOf = new ClaimVerifier(this.o.provider, this.o.chainId, this.o.roundRewards, this.relayerAddress, this.o.fee);
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port ?? 0, this.o.host ?? '127.0.0.1', () => resolve());
    });
    this.timer = setInterval(() => void this.flush(), this.o.batchMs ?? 2_000);
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
  }

  private get verifier(): ClaimVerifier {
    if (!this.verifierOf) throw new Error('The relayer has not been started.');
    return this.verifierOf;
  }

  info(): RelayerInfo {
    return { chainId: this.o.chainId.toString(), roundRewards: getAddress(this.o.roundRewards), relayer: this.relayerAddress, fee: this.o.fee.toString() };
  }

  status(nullifier: string): ClaimStatus | undefined {
    const s = this.store.get(nullifier);
    return s ? { nullifier, status: s.status, tx: s.tx, reason: s.reason } : undefined;
  }

  /** Accepts (after checking each off-chain) and stores claims; returns each one's status. */
  async accept(claims: readonly RelayedClaim[]): Promise<ClaimStatus[]> {
    const out: ClaimStatus[] = [];
    for (const claim of claims) {
      const held = this.store.get(claim.nullifier);
      if (held && held.status !== 'rejected') {
        out.push({ nullifier: claim.nullifier, status: held.status, tx: held.tx, reason: held.reason });
        continue;
      }
      let verdict;
      try {
        verdict = await this.verifier.check(claim);
      } catch (err) {
        throw new TroveError('CHAIN_UNREACHABLE', 'The relayer cannot reach the chain to check claims right now. Try again later.', undefined, { cause: err });
      }
      if (!verdict.ok) {
        out.push({ nullifier: claim.nullifier, status: verdict.alreadyClaimed ? 'claimed' : 'rejected', tx: null, reason: verdict.reason });
        continue;
      }
      this.store.forgetRejected(claim.nullifier);
      this.store.accept(claim, Date.now());
      out.push({ nullifier: claim.nullifier, status: 'pending', tx: null, reason: null });
    }
    return out;
  }

  /** Sends every pending claim now, one transaction per round; settles any sent before a restart. */
  flush(): Promise<void> {
    this.sending ??= this.flushNow().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async flushNow(): Promise<void> {
    try {
      for (const s of this.store.withStatus('submitted')) await this.settle(s);
      const byRound = new Map<string, StoredClaim[]>();
      for (const s of this.store.withStatus('pending')) {
        const key = `${s.claim.jobId}/${s.claim.round}`;
        byRound.set(key, [...(byRound.get(key) ?? []), s]);
      }
      for (const group of byRound.values()) {
        for (let i = 0; i < group.length; i += MAX_CLAIMS_PER_REQUEST) await this.submit(group.slice(i, i + MAX_CLAIMS_PER_REQUEST));
      }
    } catch (err) {
      // The chain may be down: everything stays as it is on disk and is tried on the next tick.
      this.o.onEvent?.(`relayer: sending failed, will retry: ${(err as Error).message}`);
    }
  }

  private async submit(group: StoredClaim[]): Promise<void> {
    const { jobId, round } = group[0]!.claim;
    const claims = group.map((s) => toRoundClaim(s.claim.recipient, { merkleTreeDepth: s.claim.merkleTreeDepth, nullifier: s.claim.nullifier, points: s.claim.points }, s.claim.relayer, BigInt(s.claim.fee)));
    let tx: { hash: string };
    try {
      tx = (await this.rewards.getFunction('claim')(BigInt(jobId), round, claims, { gasLimit: GAS_PER_TX + GAS_PER_CLAIM * BigInt(claims.length) })) as { hash: string };
    } catch (err) {
      // Refused before it was mined (every claim in it already used, or the chain down): each is
      // checked again on the next tick.
      for (const s of group) {
        const verdict = await this.verifier.check(s.claim).catch(() => undefined);
        if (verdict && !verdict.ok) this.store.set(s.claim.nullifier, verdict.alreadyClaimed ? 'claimed' : 'rejected', null, verdict.reason);
      }
      this.o.onEvent?.(`relayer: a batch of ${group.length} for round ${round} of job ${jobId} was refused: ${(err as Error).message}`);
      return;
    }
    // On disk before waiting: a restart finds the transaction and settles it.
    for (const s of group) this.store.set(s.claim.nullifier, 'submitted', tx.hash, null);
    for (const s of group) await this.settle({ ...s, status: 'submitted', tx: tx.hash });
  }

  /** Reads a sent transaction's receipt and marks each of its claims paid or skipped. */
  private async settle(s: StoredClaim): Promise<void> {
    if (!s.tx) return this.store.set(s.claim.nullifier, 'pending', null, null);
    const receipt = await this.o.provider.waitForTransaction(s.tx, 1, 30_000).catch(() => null);
    if (!receipt) {
      // Not mined (dropped, or lost in a restart of the chain): offered again once re-checked.
      const known = await this.o.provider.getTransaction(s.tx);
      if (!known) this.store.set(s.claim.nullifier, 'pending', null, null);
      return;
    }
    let paid = false;
    let skipped: string | null = null;
    for (const log of receipt.logs) {
      const parsed = this.rewards.interface.parseLog(log);
      if (parsed?.name === 'Claimed' && (parsed.args.getValue('nullifiers') as bigint[]).some((n) => n.toString() === s.claim.nullifier)) paid = true;
      if (parsed?.name === 'ClaimSkipped' && (parsed.args.getValue('nullifier') as bigint).toString() === s.claim.nullifier) skipped = parsed.args.getValue('reason') as string;
    }
    if (receipt.status === 1 && paid) this.store.set(s.claim.nullifier, 'claimed', s.tx, null);
    else this.store.set(s.claim.nullifier, 'rejected', null, skipped ? `The contract skipped the claim (${skipped}).` : 'The transaction failed.');
  }

  private allow(remote: string): boolean {
    const perMinute = this.o.requestsPerMinute ?? 120;
    const now = Date.now();
    const b = this.buckets.get(remote) ?? { tokens: perMinute, at: now };
    b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) / 60_000) * perMinute);
    b.at = now;
    this.buckets.set(remote, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.allow(req.socket.remoteAddress ?? '')) throw new TroveError('RATE_LIMITED', 'Too many requests from this address; wait a minute and try again.');
      const url = new URL(req.url ?? '/', 'http://relayer');
      if (req.method === 'GET' && url.pathname === '/v1/info') return send(res, 200, this.info());
      const status = /^\/v1\/claims\/([0-9]{1,80})$/.exec(url.pathname);
      if (req.method === 'GET' && status) {
        const found = this.status(status[1]!);
        if (!found) throw new TroveError('JOB_NOT_FOUND', 'This relayer holds no claim with that nullifier.');
        return send(res, 200, found);
      }
      if (req.method === 'POST' && url.pathname === '/v1/claims') {
        const parsed = submitRequestSchema.safeParse(await readJson(req));
        if (!parsed.success) throw new TroveError('INVALID_INPUT', `The claims are malformed: ${parsed.error.issues[0]?.message ?? 'unknown shape'}.`);
        if (BigInt(parsed.data.chainId) !== this.o.chainId || getAddress(parsed.data.roundRewards) !== getAddress(this.o.roundRewards)) {
          throw new TroveError('INVALID_INPUT', 'This relayer serves another chain or contract.');
        }
        return send(res, 202, { claims: await this.accept(parsed.data.claims) });
      }
      throw new TroveError('INVALID_INPUT', `${req.method ?? ''} ${url.pathname} is not a relayer route.`);
    } catch (err) {
      const e = isTroveError(err) ? err : new TroveError('CHAIN_UNREACHABLE', 'The relayer failed; try again later.');
      send(res, STATUS_OF_CODE[e.code] ?? 400, { error: { code: e.code, message: e.message } });
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sending;
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    this.store.close();
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_RELAYER_BODY_BYTES) throw new TroveError('PAYLOAD_TOO_LARGE', `A claim request is at most ${MAX_RELAYER_BODY_BYTES} bytes.`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > MAX_RELAYER_BODY_BYTES) throw new TroveError('PAYLOAD_TOO_LARGE', `A claim request is at most ${MAX_RELAYER_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new TroveError('INVALID_INPUT', 'The request body is not JSON.');
  }
}
