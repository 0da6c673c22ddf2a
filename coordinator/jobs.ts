// Publishing a job: completing the researcher's job file from the keys, the coordinator's address
// and the deployment, signing it, escrowing the reward on-chain and registering it with the
// round runner, which then serves the document at the URI the chain points to.
import { getAddress, type Signer } from 'ethers';
import { TroveError } from '../common/errors.js';
import { isAnalyticsJob, parseAnyJobDocument, type AnyJobDocument } from '../common/jobs/kinds.js';
import { jobSpecHash, signJobDocument } from '../common/jobs/signed-document.js';
import type { TroveDeployment } from '../contracts/deploy.js';
import { publishJob, type PublishedJob } from './chain.js';
import { checkModule } from './job-book.js';
import type { RoundRunner } from './rounds.js';

/** How long a job runs when its file names no deadline. */
export const DEFAULT_JOB_DAYS = 30;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Fills what a job file may leave out: the researcher's address (from the signing key), the
 * coordinator (this server's URL and closing key), the chain id and reward token (from the
 * deployment) and the deadline. What the file does say is kept, and the result is checked whole.
 */
export function completeJobDocument(
  input: unknown,
  fill: { researcher: string; coordinatorAddress: string; coordinatorUrl: string; deployment: TroveDeployment; nowMs: number },
): AnyJobDocument {
  if (!isRecord(input)) throw new TroveError('INVALID_JOB_SPEC', 'The job file must hold a JSON object.');
  const researcher = isRecord(input.researcher) ? input.researcher : {};
  const coordinator = isRecord(input.coordinator) ? input.coordinator : {};
  const reward = isRecord(input.reward) ? input.reward : {};
  return parseAnyJobDocument({
    ...input,
    researcher: { ...researcher, address: researcher.address ?? getAddress(fill.researcher) },
    coordinator: { url: coordinator.url ?? fill.coordinatorUrl, address: coordinator.address ?? getAddress(fill.coordinatorAddress) },
    chainId: input.chainId ?? fill.deployment.chainId,
    reward: { ...reward, ...defaultRewardToken(reward, fill.deployment) },
    deadline: input.deadline ?? Math.floor(fill.nowMs / 1000) + DEFAULT_JOB_DAYS * 86_400,
  });
}

/**
 * The reward token when the job file names none: a development chain's test token (which the
 * researcher can mint with `coordinator -- faucet`), otherwise the deployment's TroveToken.
 */
function defaultRewardToken(reward: Record<string, unknown>, deployment: TroveDeployment): Record<string, unknown> {
  if (reward.token !== undefined) return {};
  const test = deployment.testToken;
  return test ? { token: test.address, symbol: test.symbol, decimals: test.decimals } : { token: deployment.contracts.TroveToken };
}

/** Where the chain says the document lives: this coordinator's spec route. */
export function specUri(coordinatorUrl: string, specHash: string): string {
  return `${coordinatorUrl.replace(/\/+$/, '')}/v1/specs/${specHash}`;
}

/** Signs, publishes with escrow, and registers the job with the runner. */
export async function publishJobDocument<D extends AnyJobDocument>(options: {
  runner: RoundRunner;
  researcher: Signer;
  deployment: TroveDeployment;
  document: D;
  validationCsv?: string | null;
  /** The WebAssembly module of a module analytics job (its sha256 must be the document's). */
  module?: Uint8Array | null;
}): Promise<PublishedJob & { specHash: string; specURI: string }> {
  const { document } = options;
  if (document.chainId !== options.deployment.chainId) {
    throw new TroveError('INVALID_JOB_SPEC', `The job names chain ${document.chainId}, but the deployment is on chain ${options.deployment.chainId}.`);
  }
  const signed = await signJobDocument(document, options.researcher);
  const specHash = jobSpecHash(document);
  const uri = specUri(document.coordinator.url, specHash);
  // Checked before any token moves: a validation file that does not fit the job, or a document
  // already published (its hash would name two escrows), fails here.
  checkModule(document, options.module ?? null);
  if (options.validationCsv) {
    if (isAnalyticsJob(document)) throw new TroveError('INVALID_INPUT', 'An analytics job has no model to validate: leave out the validation file.');
    options.runner.checkValidation(document, options.validationCsv);
  }
  const existing = await options.runner.store.jobBySpecHash(specHash);
  if (existing) throw new TroveError('INVALID_JOB_SPEC', `This exact job document is already published as job ${existing.jobId}; change it (for example its deadline) to publish another.`);
  const published = await publishJob(options.researcher, options.deployment, document, specHash, uri);
  await options.runner.addJob({ jobId: published.jobId, specHash, signed, validationCsv: options.validationCsv ?? null, publishTx: published.tx, module: options.module ?? null });
  return { ...published, specHash, specURI: uri };
}
