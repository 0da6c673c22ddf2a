// npm run relayer -- [options]: runs a claim relayer anyone can offer. It pays the gas of
// contributors' claims and takes the fee each proof grants it.
//
// Options: --rpc (default http://127.0.0.1:8545), --deployment (the file deploy:contracts writes,
// default deployments/local.json), --fee (per claim, in token units, default 0), --store (default
// relayer.db), --host (default 127.0.0.1), --port (default 8788), --batch-ms (default 2000).
// The relayer's key is TROVE_RELAYER_KEY; on a local anvil chain a funded development key is used.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { ANVIL_KEYS } from '../contracts/anvil.js';
import { RelayerService } from './server.js';

/** anvil's fourth development account, on a local chain only. */
const ANVIL_RELAYER_KEY = ANVIL_KEYS[3];

function fail(message: string): never {
  console.error(`relayer: ${message}`);
  process.exit(1);
}

const { values } = parseArgs({
  options: {
    rpc: { type: 'string', default: 'http://127.0.0.1:8545' },
    deployment: { type: 'string', default: 'deployments/local.json' },
    fee: { type: 'string', default: '0' },
    store: { type: 'string', default: 'relayer.db' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8788' },
    'batch-ms': { type: 'string', default: '2000' },
  },
  strict: true,
});

if (!/^[0-9]{1,60}$/.test(values.fee)) fail('--fee must be a whole number of token units.');
const port = Number(values.port);
const batchMs = Number(values['batch-ms']);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be a port number.');
if (!Number.isInteger(batchMs) || batchMs < 100) fail('--batch-ms must be at least 100.');

let deployment: { chainId: string; contracts: { RoundRewards: string } };
try {
  deployment = JSON.parse(readFileSync(values.deployment, 'utf8')) as typeof deployment;
} catch {
  fail(`Cannot read the deployment file ${values.deployment}: run \`npm run deploy:contracts\` first or pass --deployment.`);
}
const provider = new JsonRpcProvider(values.rpc, undefined, { staticNetwork: true, pollingInterval: 250 });
let chainId: bigint;
try {
  chainId = (await provider.getNetwork()).chainId;
} catch {
  fail(`The chain at ${values.rpc} cannot be reached.`);
}
if (deployment.chainId !== chainId.toString()) fail(`The deployment file is for chain ${deployment.chainId}, but ${values.rpc} is chain ${chainId}.`);
const key = process.env.TROVE_RELAYER_KEY ?? (chainId === 31337n ? ANVIL_RELAYER_KEY : undefined);
if (!key) fail(`Set TROVE_RELAYER_KEY to relay on chain ${chainId}.`);

const relayer = new RelayerService({
  signer: new NonceManager(new Wallet(key, provider)),
  provider,
  chainId,
  roundRewards: deployment.contracts.RoundRewards,
  fee: BigInt(values.fee),
  storeFile: values.store,
  host: values.host,
  port,
  batchMs,
  onEvent: (line) => console.error(line),
});
const url = await relayer.start();
const info = relayer.info();
console.log(`relayer: listening on ${url} for RoundRewards ${info.roundRewards} on chain ${info.chainId}, fee ${info.fee} per claim, as ${info.relayer}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void relayer.close().then(() => {
      provider.destroy();
      process.exit(0);
    });
  });
}
