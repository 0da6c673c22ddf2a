// A coordinator that serves one contributor a different model (to read that person's update on a
// model crafted for them) must name that model in the person's Setup, and the person signs it into
// their key advert: their neighbours see it and refuse, and the person refuses theirs. The positive
// control replaces the neighbours' comparison with a no-op: the round then finishes with the
// singled-out update in the sum.
import { describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import { SecAggClient } from '../../../common/secagg/client.js';
import { generateSigningKeyPair } from '../../../common/secagg/keys.js';
import { recommendedRoundParams, type RoundParams } from '../../../common/secagg/params.js';
import { SecAggServer, type Outgoing } from '../../../common/secagg/server.js';
import { loadSodium } from '../../../common/secagg/sodium.js';
import { encodeSetup } from '../../../common/secagg/wire.js';
import { roundId } from './harness.js';

const N = 6;
const D = 8;
const MODEL_A = new Uint8Array(32).fill(0xaa);
const MODEL_B = new Uint8Array(32).fill(0xbb);
const VICTIM = 2;

async function twoModelRound(crossCheck: boolean) {
  await loadSodium();
  const params: RoundParams = recommendedRoundParams({ roundId: roundId(77), clientCount: N, vectorLength: D, clipRange: 1, modelHash: MODEL_A });
  const signing = Array.from({ length: N }, () => generateSigningKeyPair());
  const roster = signing.map((k) => k.publicKey);
  const server = await SecAggServer.create(params, roster);
  const clients = await Promise.all(
    signing.map((signingKeys, id) =>
      SecAggClient.create({
        id,
        signingKeys,
        roster,
        roundId: params.roundId,
        input: Array.from({ length: D }, (_, i) => (id === VICTIM ? 0.9 : 0.1) * (i % 2 ? 1 : -1)),
        // Each client knows the hash of the model it was served.
        modelHash: id === VICTIM ? MODEL_B : MODEL_A,
        ...(crossCheck ? {} : { checkNeighbourModel: () => undefined }),
      }),
    ),
  );
  // The coordinator names model B in the victim's Setup, so the victim's own check passes.
  const setups = server.start(0).map((o) => (o.to === VICTIM ? { to: o.to, message: encodeSetup({ ...params, modelHash: MODEL_B }, VICTIM) } : o));
  const refused = new Map<number, string>();
  let out: Outgoing[] = setups;
  for (let stage = 0; stage < 5 && server.stage !== 'done' && server.stage !== 'aborted'; stage++) {
    for (const { to, message } of out) {
      const client = clients[to];
      if (!client || client.stage === 'aborted') continue;
      try {
        const reply = client.handle(message);
        if (reply) server.receive(reply);
      } catch (err) {
        if (!isTroveError(err)) throw err;
        refused.set(to, err.code);
      }
    }
    out = server.advance(server.canAdvance(0) ? 0 : server.stageDeadline);
  }
  return { server, refused };
}

describe('model binding', () => {
  it('neighbours of a contributor served another model refuse, and so does the contributor', async () => {
    const { server, refused } = await twoModelRound(true);
    expect(refused.get(VICTIM)).toBe('SECAGG_MODEL_MISMATCH');
    expect(refused.size).toBeGreaterThanOrEqual(2);
    for (const code of refused.values()) expect(code).toBe('SECAGG_MODEL_MISMATCH');
    expect(server.result?.contributors.includes(VICTIM) ?? false).toBe(false);
  });

  it('positive control: without the cross-check the singled-out update is in the sum', async () => {
    const { server, refused } = await twoModelRound(false);
    expect(refused.size).toBe(0);
    expect(server.stage).toBe('done');
    expect(server.result?.contributors).toContain(VICTIM);
  });

  it('a client refuses a Setup that names another model than the one it was served', async () => {
    await loadSodium();
    const params = recommendedRoundParams({ roundId: roundId(78), clientCount: 3, vectorLength: D, clipRange: 1, modelHash: MODEL_A });
    const signing = Array.from({ length: 3 }, () => generateSigningKeyPair());
    const client = await SecAggClient.create({ id: 0, signingKeys: signing[0]!, roster: signing.map((k) => k.publicKey), roundId: params.roundId, modelHash: MODEL_B });
    expect(() => client.handle(encodeSetup(params, 0))).toThrowError(/different model/);
  });
});
