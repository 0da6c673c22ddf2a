// Runs whole rounds in one process: a server, n clients, and a dropout plan saying after which
// stage each dropped client stops answering.
import { SecAggClient, type SecAggClientOptions } from '../../../common/secagg/client.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../../common/secagg/keys.js';
import type { RoundParams } from '../../../common/secagg/params.js';
import { SecAggServer, type Outgoing } from '../../../common/secagg/server.js';
import { loadSodium } from '../../../common/secagg/sodium.js';

/** The stage before which a client goes silent (it never sends that stage's message). */
export type DropPoint = 'advertise-keys' | 'share-keys' | 'collect-masked-inputs' | 'consistency-check' | 'unmask';

export interface RoundSetup {
  server: SecAggServer;
  clients: SecAggClient[];
  signing: SigningKeyPair[];
  roster: Uint8Array[];
}

export async function makeRound(
  params: RoundParams,
  inputs: ArrayLike<number>[],
  clientOptions: Partial<Pick<SecAggClientOptions, 'checkSurvivors' | 'addNoise'>> = {},
): Promise<RoundSetup> {
  await loadSodium();
  const signing = Array.from({ length: params.clientCount }, () => generateSigningKeyPair());
  const roster = signing.map((k) => k.publicKey);
  const server = await SecAggServer.create(params, roster);
  const clients = await Promise.all(
    signing.map((keys, id) => SecAggClient.create({ id, signingKeys: keys, roster, roundId: params.roundId, input: inputs[id], ...clientOptions })),
  );
  return { server, clients, signing, roster };
}

const ORDER: DropPoint[] = ['advertise-keys', 'share-keys', 'collect-masked-inputs', 'consistency-check', 'unmask'];

/**
 * Delivers messages stage by stage. A client in `drops` stops answering from its drop point on;
 * clients that abort on their own are treated as dropouts. Returns the messages the server sent
 * in its last step.
 */
export function runRound(round: RoundSetup, drops: Map<number, DropPoint> = new Map(), now = 0): Outgoing[] {
  const { server, clients } = round;
  let outgoing = server.start(now);
  for (let step = 0; step < ORDER.length; step++) {
    for (const { to, message } of outgoing) {
      const drop = drops.get(to);
      if (drop !== undefined && ORDER.indexOf(drop) <= step) continue;
      const client = clients[to];
      if (!client || client.stage === 'aborted') continue;
      let reply: Uint8Array | undefined;
      try {
        reply = client.handle(message);
      } catch (err) {
        // A client that abandons the round on its own behaves like a dropout.
        if (stageOf(client) === 'aborted') continue;
        throw err;
      }
      if (reply) server.receive(reply);
    }
    // Pass the deadline when someone is silent; otherwise everyone answered.
    const later = server.canAdvance(now) ? now : server.stageDeadline;
    outgoing = server.advance(later);
    now = later;
    if (server.stage === 'aborted' || server.stage === 'done') break;
  }
  // Deliver aborts so clients learn the outcome.
  for (const { to, message } of outgoing) {
    const client = clients[to];
    if (client && client.stage !== 'aborted' && client.stage !== 'done') client.handle(message);
  }
  return outgoing;
}

export function plainSum(inputs: ArrayLike<number>[], contributors: number[], clip: number): Float64Array {
  const d = inputs[0]?.length ?? 0;
  const out = new Float64Array(d);
  for (const id of contributors) {
    const v = inputs[id];
    if (!v) continue;
    for (let i = 0; i < d; i++) out[i] = (out[i] ?? 0) + Math.max(-clip, Math.min(clip, v[i] ?? 0));
  }
  return out;
}

export function roundId(seed: number): Uint8Array {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setUint32(0, seed, true);
  id[15] = 0x5a;
  return id;
}

function stageOf(client: SecAggClient): string {
  return client.stage;
}
