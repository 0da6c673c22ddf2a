// The coordinator's state in PostgreSQL, for deployments: `serve --database postgres://…`. Same
// tables and meaning as the SQLite store (migrations.ts holds both dialects); a transaction runs
// on one pooled connection, which the calls made inside it find through AsyncLocalStorage.
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { TroveError } from '../common/errors.js';
import { MIGRATIONS_TABLE, pendingMigrations, SCHEMA_VERSION } from './migrations.js';
import type { RoundGroup } from '../common/jobs/groups.js';
import {
  groupOutcome,
  job,
  modelBytes,
  modelFromBytes,
  participant,
  round,
  sumBytes,
  type CoordinatorStore,
  type GroupOutcome,
  type JobRow,
  type LeaseRow,
  type ProcessRow,
  type UsedNonce,
  type RawGroupOutcome,
  type JobState,
  type ParticipantRow,
  type RawJob,
  type RawParticipant,
  type RawRound,
  type RoundEvent,
  type RoundOutcome,
  type RoundRow,
  type RoundStageName,
} from './store.js';

/** Any number that fits one migration lock for every coordinator sharing the database. */
const MIGRATION_LOCK = 7_265_100_015;

const INT8_OID = 20;

// Times are milliseconds and ids are small: BIGINT columns come back as numbers, not strings.
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

/** The server and database of a postgres:// URL, without user or password (for logs and status). */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.host}${u.pathname}`;
  } catch {
    return 'postgres://(unreadable address)';
  }
}

export class PostgresStore implements CoordinatorStore {
  readonly kind = 'postgres';
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly inTransaction = new AsyncLocalStorage<pg.PoolClient>();

  private constructor(url: string, poolSize: number) {
    this.location = describePostgresUrl(url);
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, types });
    // An idle connection the server drops is replaced on the next query; say so rather than crash.
    this.pool.on('error', () => undefined);
  }

  /** Connects, and brings the schema to SCHEMA_VERSION. */
  static async open(url: string, options: { poolSize?: number } = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, options.poolSize ?? 10);
    try {
      await store.migrate();
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      if (err instanceof TroveError) throw err;
      throw new TroveError('INVALID_INPUT', `The coordinator database ${store.location} cannot be opened: ${err instanceof Error ? err.message : String(err)}.`, undefined, { cause: err });
    }
    return store;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async () => {
      // Several coordinators may start at once: one migrates, the others wait and find nothing to do.
      await this.q('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await this.q(MIGRATIONS_TABLE.postgres);
      const current = await this.schemaVersion();
      if (current > SCHEMA_VERSION) {
        throw new TroveError('INVALID_INPUT', `The coordinator database ${this.location} has schema version ${current}, newer than this coordinator's ${SCHEMA_VERSION}; update the coordinator to open it.`);
      }
      for (const m of pendingMigrations(current)) {
        await this.q(m.postgres);
        await this.q('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      }
    });
  }

  private async q<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    const client = this.inTransaction.getStore() ?? this.pool;
    return (await client.query<R>(sql, params)).rows;
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.q<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations');
    return rows[0]?.v ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction.getStore()) return fn();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await this.inTransaction.run(client, fn);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  // --- jobs -------------------------------------------------------------------------------------

  async addJob(row: Omit<JobRow, 'state'> & { state?: JobState }): Promise<void> {
    await this.q('INSERT INTO jobs (job_id, spec_hash, signed_json, state, validation_csv, published_at, publish_tx) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      row.jobId,
      row.specHash,
      row.signedJson,
      row.state ?? 'enrolling',
      row.validationCsv,
      row.publishedAt,
      row.publishTx,
    ]);
  }

  async job(jobId: string): Promise<JobRow | undefined> {
    const [r] = await this.q<RawJob>('SELECT * FROM jobs WHERE job_id = $1', [jobId]);
    return r && job(r);
  }

  async jobBySpecHash(specHash: string): Promise<JobRow | undefined> {
    const [r] = await this.q<RawJob>('SELECT * FROM jobs WHERE spec_hash = $1', [specHash.toLowerCase()]);
    return r && job(r);
  }

  async jobs(): Promise<JobRow[]> {
    return (await this.q<RawJob>('SELECT * FROM jobs ORDER BY job_id::numeric')).map(job);
  }

  async setJobState(jobId: string, state: JobState): Promise<void> {
    await this.q('UPDATE jobs SET state = $1 WHERE job_id = $2', [state, jobId]);
  }

  // --- participants -----------------------------------------------------------------------------

  async addParticipant(jobId: string, signingKey: string, commitment: string, at: number): Promise<ParticipantRow> {
    const [r] = await this.q<RawParticipant>('INSERT INTO participants (job_id, signing_key, commitment, enrolled_at) VALUES ($1, $2, $3, $4) RETURNING *', [jobId, signingKey, commitment, at]);
    return participant(r!);
  }

  async participantByKey(jobId: string, signingKey: string): Promise<ParticipantRow | undefined> {
    const [r] = await this.q<RawParticipant>('SELECT * FROM participants WHERE job_id = $1 AND signing_key = $2', [jobId, signingKey]);
    return r && participant(r);
  }

  async participantByCommitment(jobId: string, commitment: string): Promise<ParticipantRow | undefined> {
    const [r] = await this.q<RawParticipant>('SELECT * FROM participants WHERE job_id = $1 AND commitment = $2', [jobId, commitment]);
    return r && participant(r);
  }

  async participants(jobId: string): Promise<ParticipantRow[]> {
    return (await this.q<RawParticipant>('SELECT * FROM participants WHERE job_id = $1 ORDER BY seq', [jobId])).map(participant);
  }

  async activeParticipants(jobId: string): Promise<ParticipantRow[]> {
    return (await this.q<RawParticipant>('SELECT * FROM participants WHERE job_id = $1 AND left_at IS NULL ORDER BY seq', [jobId])).map(participant);
  }

  async activeParticipantCount(jobId: string): Promise<number> {
    const [r] = await this.q<{ n: number }>('SELECT COUNT(*)::int AS n FROM participants WHERE job_id = $1 AND left_at IS NULL', [jobId]);
    return r?.n ?? 0;
  }

  async markLeft(jobId: string, signingKey: string, at: number): Promise<void> {
    await this.q('UPDATE participants SET left_at = $1 WHERE job_id = $2 AND signing_key = $3 AND left_at IS NULL', [at, jobId, signingKey]);
  }

  // --- rounds -----------------------------------------------------------------------------------

  async addRound(jobId: string, index: number, roster: string[], commitments: string[], at: number, groups: RoundGroup[] | null = null, startBlock: number | null = null): Promise<void> {
    await this.q('INSERT INTO rounds (job_id, round, roster, commitments, stage, started_at, secagg_groups, start_block) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      jobId,
      index,
      JSON.stringify(roster),
      JSON.stringify(commitments),
      'advertise-keys',
      at,
      groups ? JSON.stringify(groups) : null,
      startBlock,
    ]);
  }

  async latestRound(jobId: string): Promise<{ round: number; stage: RoundStageName } | undefined> {
    const [r] = await this.q<{ round: number; stage: RoundStageName }>('SELECT round, stage FROM rounds WHERE job_id = $1 ORDER BY round DESC LIMIT 1', [jobId]);
    return r;
  }

  async round(jobId: string, index: number): Promise<RoundRow | undefined> {
    const [r] = await this.q<RawRound>('SELECT * FROM rounds WHERE job_id = $1 AND round = $2', [jobId, index]);
    return r && round(r);
  }

  async rounds(jobId: string): Promise<RoundRow[]> {
    return (await this.q<RawRound>('SELECT * FROM rounds WHERE job_id = $1 ORDER BY round', [jobId])).map(round);
  }

  async setRoundStage(jobId: string, index: number, stage: RoundStageName): Promise<void> {
    await this.q('UPDATE rounds SET stage = $1 WHERE job_id = $2 AND round = $3', [stage, jobId, index]);
  }

  async setRoundOutcome(jobId: string, index: number, outcome: RoundOutcome): Promise<void> {
    await this.q("UPDATE rounds SET stage = 'closing', included = $1, validation = $2, aggregate = $7, group_root = $3, group_size = $4 WHERE job_id = $5 AND round = $6", [
      JSON.stringify(outcome.included),
      outcome.validation ? JSON.stringify(outcome.validation) : null,
      outcome.groupRoot,
      outcome.groupSize,
      jobId,
      index,
      outcome.aggregate ? JSON.stringify(outcome.aggregate) : null,
    ]);
  }

  async setRoundClosed(jobId: string, index: number, tx: string, at: number): Promise<void> {
    await this.q("UPDATE rounds SET stage = 'closed', close_tx = $1, closed_at = $2 WHERE job_id = $3 AND round = $4", [tx, at, jobId, index]);
  }

  async setCloseFailure(jobId: string, index: number, error: string, retryAt: number): Promise<number> {
    const [r] = await this.q<{ close_attempts: number }>(
      'UPDATE rounds SET close_attempts = close_attempts + 1, close_error = $1, close_retry_at = $2 WHERE job_id = $3 AND round = $4 RETURNING close_attempts',
      [error.slice(0, 2000), retryAt, jobId, index],
    );
    return r?.close_attempts ?? 0;
  }

  async setRoundAborted(jobId: string, index: number, reason: string, at: number): Promise<void> {
    await this.q("UPDATE rounds SET stage = 'aborted', abort_reason = $1, closed_at = $2 WHERE job_id = $3 AND round = $4", [reason, at, jobId, index]);
  }

  // --- event log --------------------------------------------------------------------------------

  async appendEvent(jobId: string, index: number, kind: RoundEvent['kind'], at: number, data: Uint8Array | null = null, grp: number | null = null): Promise<number> {
    const [r] = await this.q<{ seq: number }>(
      'INSERT INTO round_events (job_id, round, seq, kind, at, data, grp) SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6 FROM round_events WHERE job_id = $1 AND round = $2 RETURNING seq',
      [jobId, index, kind, at, data === null ? null : Buffer.from(data.buffer, data.byteOffset, data.byteLength), grp],
    );
    return r!.seq;
  }

  async events(jobId: string, index: number): Promise<RoundEvent[]> {
    return this.eventsAfter(jobId, index, 0);
  }

  async eventsAfter(jobId: string, index: number, after: number): Promise<RoundEvent[]> {
    const rows = await this.q<{ seq: number; kind: RoundEvent['kind']; at: number; data: Buffer | null; grp: number | null }>(
      'SELECT seq, kind, at, data, grp FROM round_events WHERE job_id = $1 AND round = $2 AND seq > $3 ORDER BY seq',
      [jobId, index, after],
    );
    return rows.map((r) =>
      r.kind === 'message'
        ? { seq: r.seq, kind: 'message', at: r.at, data: new Uint8Array(r.data ?? new Uint8Array(0)), grp: r.grp }
        : { seq: r.seq, kind: r.kind, at: r.at, grp: r.grp },
    );
  }

  async lockRound(jobId: string, index: number): Promise<void> {
    if (!this.inTransaction.getStore()) throw new TroveError('INVALID_INPUT', 'A round is locked only inside a transaction.');
    // Held until COMMIT or ROLLBACK: other coordinator processes wait to append to this round.
    await this.q('SELECT pg_advisory_xact_lock(hashtext($1))', [`trove-round:${jobId}:${index}`]);
  }

  async putGroupOutcome(jobId: string, index: number, o: GroupOutcome): Promise<void> {
    await this.q(
      `INSERT INTO round_groups (job_id, round, grp, stage, included, sum, error_bound, abort_reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (job_id, round, grp) DO UPDATE SET stage = EXCLUDED.stage, included = EXCLUDED.included, sum = EXCLUDED.sum, error_bound = EXCLUDED.error_bound, abort_reason = EXCLUDED.abort_reason, at = EXCLUDED.at`,
      [
        jobId,
        index,
        o.grp,
        o.stage,
        o.stage === 'done' ? JSON.stringify(o.included) : null,
        o.stage === 'done' ? Buffer.from(sumBytes(o.sum)) : null,
        o.stage === 'done' ? o.errorBound : null,
        o.stage === 'aborted' ? o.reason : null,
        o.at,
      ],
    );
  }

  async groupOutcomes(jobId: string, index: number): Promise<GroupOutcome[]> {
    return (await this.q<RawGroupOutcome>('SELECT * FROM round_groups WHERE job_id = $1 AND round = $2 ORDER BY grp', [jobId, index])).map(groupOutcome);
  }

  // --- leases and processes ---------------------------------------------------------------------

  async claimLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const rows = await this.q(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
         taken_over = leases.taken_over + (CASE WHEN leases.holder = EXCLUDED.holder THEN 0 ELSE 1 END)
       WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < $4
       RETURNING name`,
      [name, holder, now + ttlMs, now],
    );
    return rows.length > 0;
  }

  async leases(): Promise<LeaseRow[]> {
    return (await this.q<{ name: string; holder: string; expires_at: number; taken_over: number }>('SELECT name, holder, expires_at, taken_over FROM leases ORDER BY name')).map((r) => ({
      name: r.name,
      holder: r.holder,
      expiresAt: r.expires_at,
      takenOver: r.taken_over,
    }));
  }

  async releaseLeases(holder: string): Promise<void> {
    await this.q('UPDATE leases SET expires_at = 0 WHERE holder = $1', [holder]);
  }

  async heartbeat(p: Omit<ProcessRow, 'seenAt'>, now: number): Promise<void> {
    await this.q('INSERT INTO coordinator_processes (id, pid, url, started_at, seen_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at', [
      p.id,
      p.pid,
      p.url,
      p.startedAt,
      now,
    ]);
  }

  async processes(): Promise<ProcessRow[]> {
    return (await this.q<{ id: string; pid: number; url: string | null; started_at: number; seen_at: number }>('SELECT * FROM coordinator_processes ORDER BY started_at')).map((r) => ({
      id: r.id,
      pid: r.pid,
      url: r.url,
      startedAt: r.started_at,
      seenAt: r.seen_at,
    }));
  }

  // --- used nonces ------------------------------------------------------------------------------

  async spendNonces(nonces: readonly UsedNonce[]): Promise<string[]> {
    if (nonces.length === 0) return [];
    // One statement for the whole batch; a nonce another process inserted first comes back as used.
    const inserted = await this.q<{ nonce: string }>(
      'INSERT INTO used_nonces (nonce, expires_at) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT (nonce) DO NOTHING RETURNING nonce',
      [nonces.map((n) => n.nonce), nonces.map((n) => n.expiresAt)],
    );
    const fresh = new Set(inserted.map((r) => r.nonce));
    return nonces.filter((n) => !fresh.has(n.nonce)).map((n) => n.nonce);
  }

  async forgetNonces(now: number): Promise<void> {
    await this.q('DELETE FROM used_nonces WHERE expires_at < $1', [now]);
  }

  // --- models -----------------------------------------------------------------------------------

  async putModel(jobId: string, index: number, weights: ArrayLike<number>): Promise<void> {
    await this.q('INSERT INTO models (job_id, round, weights) VALUES ($1, $2, $3) ON CONFLICT (job_id, round) DO UPDATE SET weights = EXCLUDED.weights', [jobId, index, Buffer.from(modelBytes(weights))]);
  }

  async modelBytes(jobId: string, index: number): Promise<Uint8Array | undefined> {
    const [r] = await this.q<{ weights: Buffer }>('SELECT weights FROM models WHERE job_id = $1 AND round = $2', [jobId, index]);
    return r && new Uint8Array(r.weights);
  }

  async model(jobId: string, index: number): Promise<Float32Array | undefined> {
    const bytes = await this.modelBytes(jobId, index);
    return bytes && modelFromBytes(bytes);
  }

  // --- modules ----------------------------------------------------------------------------------

  async putModule(jobId: string, bytes: Uint8Array): Promise<void> {
    await this.q('INSERT INTO modules (job_id, bytes) VALUES ($1, $2) ON CONFLICT (job_id) DO UPDATE SET bytes = EXCLUDED.bytes', [jobId, Buffer.from(bytes)]);
  }

  async module(jobId: string): Promise<Uint8Array | undefined> {
    const [r] = await this.q<{ bytes: Buffer }>('SELECT bytes FROM modules WHERE job_id = $1', [jobId]);
    return r && new Uint8Array(r.bytes);
  }
}
