// A researcher's first run on a development machine: a local chain with the Trove contracts, a
// test reward token, and a faucet for it. Nothing here runs on a real chain: the faucet refuses
// any chain but anvil's (31337), and the keys are anvil's public development accounts.
import { Contract, JsonRpcProvider, NonceManager, Wallet, getAddress, parseUnits, type Signer } from 'ethers';
import { TroveError } from '../common/errors.js';
import { ANVIL_KEYS, startAnvil, type LocalChain } from '../contracts/anvil.js';
import { loadArtifact } from '../contracts/artifacts.js';
import { deployContract, deployTrove, writeDeployment, type TroveDeployment } from '../contracts/deploy.js';

export const DEV_CHAIN_ID = 31337n;
const TEST_TOKEN = { name: 'Test Dollar', symbol: 'TUSD', decimals: 18 };
/** What the researcher account holds from the start: enough for many example jobs. */
export const STARTING_BALANCE = 1_000_000n;

export interface RunningLocalChain {
  chain: LocalChain;
  deployment: TroveDeployment;
  researcher: string;
  stop(): Promise<void>;
}

/** Starts anvil, deploys the contracts and a test token, funds the researcher, writes the deployment file. */
export async function startLocalChain(options: { port?: number; deploymentFile: string }): Promise<RunningLocalChain> {
  const chain = await startAnvil(options.port === undefined ? {} : { port: options.port });
  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 100 });
  try {
    const deployer = new NonceManager(new Wallet(ANVIL_KEYS[0], provider));
    const deployment = await deployTrove(deployer);
    const token = await deployContract(deployer, 'TestToken', [TEST_TOKEN.name, TEST_TOKEN.symbol]);
    deployment.testToken = { address: await token.getAddress(), symbol: TEST_TOKEN.symbol, decimals: TEST_TOKEN.decimals };
    const researcher = new Wallet(ANVIL_KEYS[1]).address;
    await mint(deployer, deployment, researcher, STARTING_BALANCE);
    writeDeployment(options.deploymentFile, deployment);
    return {
      chain,
      deployment,
      researcher,
      stop: async () => {
        provider.destroy();
        await chain.stop();
      },
    };
  } catch (err) {
    provider.destroy();
    await chain.stop();
    throw err;
  }
}

async function mint(signer: Signer, deployment: TroveDeployment, to: string, wholeTokens: bigint): Promise<bigint> {
  const test = deployment.testToken;
  if (!test) throw new TroveError('INVALID_INPUT', 'This deployment has no test token: start a development chain with `npm run coordinator -- chain`.');
  const token = new Contract(test.address, loadArtifact('TestToken').abi as never, signer);
  const amount = parseUnits(wholeTokens.toString(), test.decimals);
  await (await token.getFunction('mint')(to, amount)).wait();
  return amount;
}

/** Mints test tokens to an address on a development chain; refuses every other chain. */
export async function faucet(provider: JsonRpcProvider, deployment: TroveDeployment, to: string, wholeTokens: bigint): Promise<bigint> {
  const { chainId } = await provider.getNetwork();
  if (chainId !== DEV_CHAIN_ID) throw new TroveError('INVALID_INPUT', `The faucet runs only on a development chain (id ${DEV_CHAIN_ID}); this is chain ${chainId}.`);
  let recipient: string;
  try {
    recipient = getAddress(to);
  } catch {
    throw new TroveError('INVALID_INPUT', `${to} is not an account address (0x and 40 hex digits).`);
  }
  if (wholeTokens <= 0n || wholeTokens > 10n ** 12n) throw new TroveError('INVALID_INPUT', 'Ask the faucet for between 1 and 1,000,000,000,000 tokens.');
  return mint(new Wallet(ANVIL_KEYS[0], provider), deployment, recipient, wholeTokens);
}
