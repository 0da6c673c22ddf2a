// A signed request is good once in the whole deployment: a nonce redeemed at one coordinator
// process is refused at every other on the same database (PostgreSQL, and a SQLite file that two
// coordinators open), and the used nonces are kept only until they expire. The control: with
// each process's own memory only, the captured request is accepted once more at the second process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest, toHex } from '../../common/jobs/client.js';
import { parseJobDocument } from '../../common/jobs/document.js';
import { AUTH_HEADERS, errorResponseSchema, NONCE_LIFETIME_MS } from '../../common/jobs/protocol.js';
import { signJobDocument } from '../../common/jobs/signed-document.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../common/secagg/keys.js';
import { loadSodium } from '../../common/secagg/sodium.js';
import { openCoordinator, sleepMoodExample, type LocalCoordinator } from '../../main/cli/local-network.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { SqliteStore } from '../../coordinator/store-sqlite.js';
import { TestClock, type Storage } from './fixtures.js';

const JOB = '1';
const ROUND = `/v1/jobs/${JOB}/round`;

async function nonceFrom(base: string): Promise<string> {
  const res = await fetch(`${base}/v1/nonce`);
  await res.arrayBuffer();
  return res.headers.get(AUTH_HEADERS.nonce)!;
}

/** Sends the same captured headers again and reads the answer's status and error code. */
async function send(base: string, headers: Record<string, string>): Promise<{ status: number; code?: string; message?: string }> {
  const res = await fetch(`${base}${ROUND}`, { headers });
  const text = await res.text();
  if (res.ok) return { status: res.status };
  const error = errorResponseSchema.parse(JSON.parse(text)).error;
  return { status: res.status, code: error.code, message: error.message };
}

describe.each<Storage>(['sqlite', 'postgres'])('used nonces shared by coordinator processes on %s', (storage) => {
  let postgres: PostgresServer | undefined;
  let dir: string;
  let database: string;
  let member: SigningKeyPair;
  const clock = new TestClock();
  const nonceKey = new Uint8Array(randomBytes(32));
  const open: LocalCoordinator[] = [];

  /** One coordinator process of the deployment: its own runner and server over the shared database. */
  async function coordinator(shareUsedNonces = true): Promise<LocalCoordinator> {
    const c = await openCoordinator(database, { now: clock.now, timers: false, log: () => undefined }, { now: clock.now, nonceKey, port: 0, shareUsedNonces });
    open.push(c);
    return c;
  }

  beforeAll(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'trove-nonces-'));
    postgres = storage === 'postgres' ? await startPostgres() : undefined;
    database = postgres ? postgres.url : join(dir, 'coordinator.db');
    // A job with one enrolled contributor, whose signed GET of its round is the captured request.
    const researcher = Wallet.createRandom();
    const doc = parseJobDocument({
      ...sleepMoodExample(),
      researcher: { name: 'Test', address: researcher.address },
      coordinator: { url: 'http://127.0.0.1:1', address: Wallet.createRandom().address },
      chainId: '31337',
      reward: { token: Wallet.createRandom().address, symbol: 'T', decimals: 18, perRound: '1' },
      deadline: Math.floor(clock.now() / 1000) + 86_400,
    });
    const first = await coordinator();
    await first.runner.addJob({ jobId: JOB, specHash: `0x${'cd'.repeat(32)}`, signed: await signJobDocument(doc, researcher) });
    member = generateSigningKeyPair();
    await first.store.addParticipant(JOB, toHex(member.publicKey), '12345', clock.now());
  }, 120_000);
  afterAll(async () => {
    for (const c of open.splice(0)) await c.close().catch(() => undefined);
    postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses at a second process a signed request already received at the first, in either direction', async () => {
    const [a, b] = [open[0]!, await coordinator()];
    const captured = signRequest(member, 'GET', ROUND, new Uint8Array(0), await nonceFrom(a.server.url));
    expect(await send(a.server.url, captured)).toEqual({ status: 200 });
    expect(await send(b.server.url, captured)).toEqual({ status: 401, code: 'NONCE_REFUSED', message: expect.stringMatching(/already received/) });
    // A nonce issued by b and used there is refused at a, whose memory never saw it.
    const other = signRequest(member, 'GET', ROUND, new Uint8Array(0), await nonceFrom(b.server.url));
    expect(await send(b.server.url, other)).toEqual({ status: 200 });
    expect(await send(a.server.url, other)).toMatchObject({ status: 401, code: 'NONCE_REFUSED' });
    // The same request sent to both at once is accepted by exactly one.
    const raced = signRequest(member, 'GET', ROUND, new Uint8Array(0), await nonceFrom(a.server.url));
    const answers = await Promise.all([send(a.server.url, raced), send(b.server.url, raced)]);
    expect(answers.map((x) => x.status).sort()).toEqual([200, 401]);
  });

  it('control: with each process remembering only its own nonces, the replay at the second process is accepted', async () => {
    const [a, b] = [await coordinator(false), await coordinator(false)];
    const captured = signRequest(member, 'GET', ROUND, new Uint8Array(0), await nonceFrom(a.server.url));
    expect(await send(a.server.url, captured)).toEqual({ status: 200 });
    expect(await send(a.server.url, captured)).toMatchObject({ status: 401, code: 'NONCE_REFUSED' });
    expect(await send(b.server.url, captured)).toEqual({ status: 200 });
  });

  it('keeps a used nonce only until it expires', async () => {
    const a = open[0]!;
    const stored = async (): Promise<number[]> => {
      const rows = a.store instanceof SqliteStore ? a.store.db.prepare('SELECT expires_at FROM used_nonces').all() : await queryPostgres(database, 'SELECT expires_at FROM used_nonces');
      return (rows as { expires_at: number }[]).map((r) => Number(r.expires_at));
    };
    expect((await stored()).length).toBeGreaterThan(0);
    clock.advance(2 * NONCE_LIFETIME_MS);
    // The next redemption after a lifetime has passed forgets the expired rows.
    const fresh = signRequest(member, 'GET', ROUND, new Uint8Array(0), await nonceFrom(a.server.url));
    expect(await send(a.server.url, fresh)).toEqual({ status: 200 });
    await expect.poll(stored, { timeout: 5_000 }).toHaveLength(1);
    expect((await stored())[0]).toBeGreaterThan(clock.now());
  });
});

async function queryPostgres(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
