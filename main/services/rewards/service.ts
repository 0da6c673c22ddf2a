// Claims a person's rewards anonymously. For each closed round of a job it checks the
// coordinator's list of who was included against the group closed on-chain, finds whether this
// person's per-job identity is in it, makes the Semaphore proof in the worker (the identity never
// leaves this machine), and queues the claim sealed in the vault. Queued claims of several rounds
// go to the relayer together, after a random delay so their timing does not point at the person;
// a failure waits and is tried again with backoff. A claim counts as landed only when the chain
// says so: a used nullifier means "already claimed", and is never sent again.
import { claimMessage, claimScope } from '../../../common/jobs/claims.js';
import { TroveError, isTroveError } from '../../../common/errors.js';
import { claimProofSchema } from '../../../common/worker-protocol.js';
import type { RelayedClaim } from '../../../common/claims/relayer-protocol.js';
import type { JobIdentities } from '../jobs/identity.js';
import type { Vault } from '../vault/index.js';
import type { WorkerSupervisor } from '../worker/supervisor.js';
import { RewardsChain, type ClosedRound, type RewardsChainConfig } from './chain.js';
import { ClaimQueue, DEFAULT_BACKOFF, type BackoffOptions, type QueuedClaim } from './claim-queue.js';
import { verifiedGroup } from './inclusion.js';
import type { RelayerClient } from './relayer-client.js';

/** A round as the job's coordinator reports it: closed or not, and which roster positions were in the sum. */
export interface RoundInclusion {
  round: number;
  closed: boolean;
  includedPositions: readonly number[] | null;
}

/** The relayer's terms the person agreed to: who submits, and the fee taken from each share. */
export interface RelayerTerms {
  relayer: string;
  fee: string;
}

export interface RewardsServiceOptions {
  vault: Vault;
  identities: JobIdentities;
  supervisor: WorkerSupervisor;
  chain: RewardsChainConfig & { registry: string };
  relayer: RelayerClient;
  /** The Semaphore circuit files (wasm, zkey) of the contract's tree depth. */
  artifacts: { wasm: string; zkey: string };
  /** Draws the send delay (seeded in tests). */
  random?: () => number;
  /** Claims wait a random time in this range before they are sent (default 30 s to 10 min). */
  sendDelayMs?: { min: number; max: number };
  backoff?: BackoffOptions;
  now?: () => number;
  /** A claim's state changed, or a proof made progress. */
  onChange?: (event: RewardsEvent) => void;
}

export type RewardsEvent =
  | { kind: 'proving'; jobId: string; round: number; stage: string }
  | { kind: 'claim'; claim: QueuedClaim };

/** A closed round of a job as it concerns this person. */
export interface DueRound {
  round: number;
  /** Whether this person is in the round's group and the round paid. */
  included: boolean;
  closed: ClosedRound;
  members: bigint[];
}

export interface PrepareReport {
  /** Rounds newly queued for a claim. */
  queued: number[];
  /** Rounds whose claim was already paid on-chain (nothing sent, no gas). */
  alreadyClaimed: number[];
  /** Closed rounds this person was not included in, or that paid nothing. */
  notDue: number[];
}

const TERMS_SETTING = 'rewards.relayerTerms';

export class RewardsService {
  private readonly chain: RewardsChain;
  private readonly queue: ClaimQueue;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly delay: { min: number; max: number };
  private sending: Promise<void> | undefined;
  private readonly tokens = new Map<string, Promise<{ symbol: string; decimals: number }>>();
  private readonly proving = new Set<string>();

  constructor(private readonly o: RewardsServiceOptions) {
    this.chain = new RewardsChain(o.chain);
    this.queue = ClaimQueue.open(o.vault, o.backoff ?? DEFAULT_BACKOFF);
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.delay = o.sendDelayMs ?? { min: 30_000, max: 10 * 60_000 };
  }

  claims(): QueuedClaim[] {
    return this.queue.all();
  }

  /** The relayer's current terms, remembered in the vault so claims can be made while it is down. */
  async terms(): Promise<RelayerTerms> {
    try {
      const info = await this.o.relayer.info();
      if (info.chainId !== this.o.chain.chainId || info.roundRewards.toLowerCase() !== this.o.chain.roundRewards.toLowerCase()) {
        throw new TroveError('RELAYER_PROTOCOL', 'The relayer serves another chain or contract than this app uses.');
      }
      const terms = { relayer: info.relayer, fee: info.fee };
      await this.o.vault.setSetting(TERMS_SETTING, terms);
      return terms;
    } catch (err) {
      const remembered = this.o.vault.getSetting<RelayerTerms>(TERMS_SETTING);
      if (isTroveError(err, 'RELAYER_UNREACHABLE') && remembered) return remembered;
      throw err;
    }
  }

  /**
   * Proves and queues the claims of every closed round of the job that this person was included
   * in and has not claimed. Throws INCLUDED_LIST_MISMATCH (and claims nothing of that round) when
   * the coordinator's list does not give the group on-chain.
   */
  /**
   * What the job's closed rounds owe this person, without proving anything yet: each round the
   * coordinator's list (checked against the chain) includes them in and that paid. Throws
   * INCLUDED_LIST_MISMATCH when a list does not give the group on-chain.
   */
  async due(jobId: string, rounds: readonly RoundInclusion[]): Promise<DueRound[]> {
    const identity = await this.o.identities.get({ chainId: this.o.chain.chainId, registry: this.o.chain.registry, jobId });
    const out: DueRound[] = [];
    for (const r of rounds) {
      if (!r.closed || !r.includedPositions) continue;
      const closed = await this.chain.round(jobId, r.round);
      if (!closed) continue;
      const group = await verifiedGroup(this.chain, jobId, r.round, closed, r.includedPositions);
      const included = closed.paid && group.members.includes(identity.semaphore.commitment);
      out.push({ round: r.round, included, closed, members: group.members });
    }
    return out;
  }

  /** The token's symbol and decimals as its contract states them (read once per token). */
  token(address: string): Promise<{ symbol: string; decimals: number }> {
    let t = this.tokens.get(address);
    if (!t) {
      t = this.chain.token(address);
      this.tokens.set(address, t);
      t.catch(() => this.tokens.delete(address));
    }
    return t;
  }

  /** What `account` can withdraw in `token` now. */
  withdrawable(account: string, token: string): Promise<bigint> {
    return this.chain.creditOf(account, token);
  }

  /** The relayer claims go through, and its terms when known. */
  relayerTerms(): RelayerTerms | undefined {
    return this.o.vault.getSetting<RelayerTerms>(TERMS_SETTING);
  }

  get relayerUrl(): string {
    return this.o.relayer.url;
  }

  /** Rounds whose proof is being made right now. */
  isProving(jobId: string, round: number): boolean {
    return this.proving.has(`${jobId}/${round}`);
  }

  async prepareClaims(jobId: string, rounds: readonly RoundInclusion[], recipient: string): Promise<PrepareReport> {
    const report: PrepareReport = { queued: [], alreadyClaimed: [], notDue: [] };
    const identity = await this.o.identities.get({ chainId: this.o.chain.chainId, registry: this.o.chain.registry, jobId });
    const depth = await this.chain.treeDepth();
    let terms: RelayerTerms | undefined;
    // One send time for everything prepared together: the rounds leave as one batch.
    const notBefore = this.now() + this.delay.min + Math.floor(this.random() * (this.delay.max - this.delay.min));
    const ready: QueuedClaim[] = [];
    for (const { round, included, closed, members } of await this.due(jobId, rounds)) {
      if (this.queue.get(jobId, round)) continue;
      if (!included) {
        report.notDue.push(round);
        continue;
      }
      terms ??= await this.terms();
      if (BigInt(terms.fee) >= closed.perMember) {
        throw new TroveError('CLAIM_REJECTED', `The relayer's fee is more than your share of round ${round + 1}. Choose another relayer.`, { jobId, round: round });
      }
      const scope = claimScope(BigInt(this.o.chain.chainId), this.o.chain.roundRewards, BigInt(jobId), BigInt(round));
      this.proving.add(`${jobId}/${round}`);
      const result = await this.o.supervisor.run(
        {
          kind: 'prove-claim',
          identity: identity.semaphore.export(),
          group: members.map(String),
          message: claimMessage(recipient, terms.relayer, BigInt(terms.fee)).toString(),
          scope: scope.toString(),
          depth,
          artifacts: this.o.artifacts,
        },
        { onProgress: (p) => p.kind === 'proof' && this.o.onChange?.({ kind: 'proving', jobId, round: round, stage: p.stage }) },
      ).finally(() => this.proving.delete(`${jobId}/${round}`));
      if (result.kind !== 'prove-claim') throw new TroveError('PROOF_FAILED', 'The worker answered with something other than a proof.');
      const proof = claimProofSchema.parse(result.proof);
      const claimed = await this.chain.isNullifierUsed(proof.nullifier);
      const claim: QueuedClaim = {
        jobId,
        round: round,
        token: closed.token,
        amount: (closed.perMember - BigInt(terms.fee)).toString(),
        topUp: closed.topUpPerMember.toString(),
        recipient,
        relayer: terms.relayer,
        fee: terms.fee,
        proof,
        state: claimed ? 'claimed' : 'queued',
        attempts: 0,
        notBefore,
        tx: null,
        lastError: null,
        updatedAt: this.now(),
      };
      ready.push(claim);
      (claimed ? report.alreadyClaimed : report.queued).push(round);
    }
    for (const c of await this.queue.add(ready)) {
      await this.o.vault.recordActivity(
        c.state === 'claimed' ? 'claim.already-claimed' : 'claim.queued',
        c.state === 'claimed' ? `Round ${c.round + 1} of job ${jobId} was already claimed; nothing was sent` : `Claim for round ${c.round + 1} of job ${jobId} queued for ${c.recipient}`,
        { jobId, round: c.round, recipient: c.recipient, amount: c.amount, token: c.token },
      );
      this.o.onChange?.({ kind: 'claim', claim: c });
    }
    return report;
  }

  /** When the next queued claim is due (null when none waits). */
  nextSendAt(): number | null {
    return this.queue.nextAt();
  }

  /**
   * Sends the claims whose time has come and follows up the ones already with the relayer. Safe
   * to call at any time, and again after a restart: each step re-reads the chain first.
   */
  send(): Promise<void> {
    this.sending ??= this.sendNow().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async sendNow(): Promise<void> {
    await this.followUp();
    const due = this.queue.due(this.now());
    const batch: QueuedClaim[] = [];
    for (const c of due) {
      if (await this.landedAnyway(c)) continue;
      batch.push(c);
    }
    if (batch.length === 0) return;
    let answer;
    try {
      answer = await this.o.relayer.submit({ chainId: this.o.chain.chainId, roundRewards: this.o.chain.roundRewards, claims: batch.map(relayed) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      for (const c of batch) this.changed(await this.queue.retryLater(c, message, this.now()));
      return;
    }
    for (const c of batch) {
      const status = answer.claims.find((s) => s.nullifier === c.proof.nullifier);
      if (status && (status.status === 'pending' || status.status === 'submitted' || status.status === 'claimed')) {
        this.changed(await this.queue.update(c.jobId, c.round, { state: 'submitted', lastError: null }, this.now()));
        await this.o.vault.recordActivity('claim.submitted', `Claim for round ${c.round + 1} of job ${c.jobId} handed to the relayer`, {
          jobId: c.jobId, round: c.round, to: this.o.relayer.url, recipient: c.recipient,
        });
      } else {
        const why = status?.reason ?? 'The relayer did not take the claim.';
        this.changed(await this.queue.retryLater(c, why, this.now()));
      }
    }
    await this.followUp();
  }

  /** Asks the relayer about submitted claims; a transaction counts only once the chain confirms it. */
  private async followUp(): Promise<void> {
    for (const c of this.queue.all().filter((x) => x.state === 'submitted')) {
      let status;
      try {
        status = await this.o.relayer.status(c.proof.nullifier);
      } catch (err) {
        // The relayer may be down with the claim in hand: the chain still tells whether it landed.
        if (await this.landedAnyway(c)) continue;
        if (!isTroveError(err, 'RELAYER_UNREACHABLE')) this.changed(await this.queue.retryLater(c, (err as Error).message, this.now()));
        continue;
      }
      if (status.status === 'pending') continue;
      if (status.tx && (await this.chain.paidIn(status.tx, c.proof.nullifier))) {
        await this.landed(c, status.tx);
        continue;
      }
      if (await this.landedAnyway(c)) continue;
      const why =
        status.status === 'rejected'
          ? `The relayer rejected the claim: ${status.reason ?? 'no reason given'}.`
          : `The relayer said the claim landed${status.tx ? ` in ${status.tx}` : ''}, but the chain shows no such payment. It will be sent again.`;
      this.changed(await this.queue.retryLater(c, why, this.now()));
      if (status.status !== 'rejected') {
        await this.o.vault.recordActivity('claim.relayer-misreported', `The relayer misreported the claim for round ${c.round + 1} of job ${c.jobId}`, { jobId: c.jobId, round: c.round, tx: status.tx });
      }
    }
  }

  /** True (and the claim marked claimed) when the chain already paid its nullifier. */
  private async landedAnyway(c: QueuedClaim): Promise<boolean> {
    if (!(await this.chain.isNullifierUsed(c.proof.nullifier))) return false;
    await this.landed(c, null);
    return true;
  }

  private async landed(c: QueuedClaim, tx: string | null): Promise<void> {
    this.changed(await this.queue.update(c.jobId, c.round, { state: 'claimed', tx, lastError: null }, this.now()));
    await this.o.vault.recordActivity('claim.landed', `Claimed round ${c.round + 1} of job ${c.jobId} to ${c.recipient}`, {
      jobId: c.jobId, round: c.round, recipient: c.recipient, amount: c.amount, token: c.token, tx,
    });
  }

  private changed(claim: QueuedClaim): void {
    this.o.onChange?.({ kind: 'claim', claim });
  }

  close(): void {
    this.chain.close();
  }
}

function relayed(c: QueuedClaim): RelayedClaim {
  return {
    jobId: c.jobId,
    round: c.round,
    recipient: c.recipient,
    relayer: c.relayer,
    fee: c.fee,
    nullifier: c.proof.nullifier,
    merkleTreeDepth: c.proof.merkleTreeDepth,
    points: c.proof.points,
  };
}
