// Trove's main job, end to end, on embedded defaults: a local chain with the contracts, a
// researcher's coordinator publishing the sleep-and-mood job with its reward escrowed, your vault
// with the sample sleep diary, the consent card, and the job's rounds of federated training with
// 31 other contributors (simulated: each a real vault of its own diary; they share one worker
// process, as they share this computer). The example job spends at most epsilon 2, and at that
// noise a model only improves when enough people take part: bench/privacy-utility.ts measures how many.
// Only masked vectors leave any vault; every round closes on-chain with its contributor group.
//
//   npm run demo [-- --keep DIR]
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JobCardValue } from '../../common/ipc/contract.js';
import { formatTokenAmount } from '../../common/tokens.js';
import { buildTrainingMatrix } from '../../common/model/features.js';
import { evaluateModel } from '../../common/model/evaluate.js';
import { readValidationCsv } from '../../common/model/csv.js';
import { initialWeights } from '../../common/model/weights.js';
import { sleepDiariesCsv, sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import type { RoundProgress } from '../services/rounds/participation.js';
import { claimThroughRelayer } from './demo-claims.js';
import { startLocalNetwork, type Contributor, type LocalNetwork } from './local-network.js';
import type { RoundRow } from '../../coordinator/store.js';
import { bar } from './vault.js';
import { bundledWorkerLauncher } from './worker-bundle.js';
import { WorkerSupervisor } from '../services/worker/supervisor.js';
import { linkDemoWalletAndWithdraw } from './demo-wallet.js';
import { releaseVerifierThreads } from '../../relayer/verify.js';
import { Wallet } from 'ethers';
import { RECEIPTS_SETTING } from '../services/rounds/receipts.js';
import type { SignedMaskedInputReceipt } from '../../common/jobs/masked-input-receipt.js';

const SAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../assets/samples/sleep-diary.csv');
const OTHERS = 31;

function step(n: number, text: string): void {
  console.log(`\n${n}. ${text}`);
}

/** Other people's diaries, which the researcher keeps to check each new model. */
const validationSet = (): string => sleepDiariesCsv([9001, 9002, 9003], 150);

function printConsentCard(card: JobCardValue): void {
  const width = Math.max(...card.columns.map((c) => c.name.length));
  console.log(`   ┌ ${card.title}`);
  console.log(`   │ asked by ${card.researcher.name} (${card.researcher.address})`);
  console.log(`   │ why: ${card.purpose}`);
  console.log('   │ reads, on this computer only:');
  for (const c of card.columns) console.log(`   │   ${c.name.padEnd(width)}  ${c.note}${c.role === 'label' ? ' (what the model predicts)' : ''}`);
  console.log(`   │ leaves this computer: a masked vector of ${card.vectorLength} numbers per round, never a row;`);
  console.log(`   │   it is combined with at least ${card.minContributors - 1} others' before anyone can read the sum`);
  console.log(`   │ privacy cost: epsilon ${card.privacy.epsilon.toFixed(2)} (delta ${card.privacy.delta}); you have spent ${card.privacy.spentEpsilon.toFixed(2)} of ${card.privacy.budget.epsilon}`);
  const left = card.privacy.budget.epsilon - card.privacy.afterEpsilon;
  if (card.privacy.epsilon > 0 && left >= 0) console.log(`   │   after this you can join ${Math.floor(left / card.privacy.epsilon)} more jobs like it; the budget does not renew`);
  console.log(`   │ reward: ${formatTokenAmount(card.reward.perRound, card.reward.decimals, card.reward.symbol)} per round, shared by the round's contributors; ${card.rounds} rounds`);
  console.log(`   │ deadline: ${new Date(card.deadline).toISOString().slice(0, 10)}; rounds run by ${card.coordinator.url} (${card.coordinator.address})`);
  console.log('   └ checked: the document matches the hash published on-chain and carries the researcher’s signature');
}

const STEP_WORDS: Record<RoundProgress['step'], string> = {
  waiting: 'waiting',
  training: 'training on your data',
  computing: 'computing the answer on your data',
  reviewing: 'waiting for your review of the result',
  masking: 'masking',
  uploading: 'sending the masked vector',
  unmasking: 'helping unmask the sum',
  done: 'done',
};

/** Prints your device's round steps as they happen, one line per change of step. */
function followYourRounds(you: Contributor, jobId: string): void {
  let last = '';
  you.jobs.participation(jobId)?.on('progress', (p) => {
    const line = `   you, round ${p.round + 1}: ${STEP_WORDS[p.step]}${p.step === 'training' && p.progress !== null ? ` ${bar(p.progress, 20)}` : ''}`;
    if (p.step === 'training' && p.progress !== null && p.progress < 1) return;
    if (line !== last) console.log(line);
    last = line;
  });
}

async function waitForJob(net: LocalNetwork, jobId: string, onRound: (r: RoundRow) => void): Promise<void> {
  const reported = new Set<number>();
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const rounds = await net.store.rounds(jobId);
    for (const r of rounds) {
      if ((r.stage === 'closed' || r.stage === 'aborted') && !reported.has(r.round)) {
        reported.add(r.round);
        onRound(r);
      }
    }
    if ((await net.store.job(jobId))?.state === 'finished' && rounds.every((r) => reported.has(r.round))) return;
    if (Date.now() > deadline) throw new Error('The job did not finish within 10 minutes.');
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function demo(args: string[]): Promise<void> {
  const keepAt = args.indexOf('--keep');
  const dir = keepAt >= 0 ? resolve(args[keepAt + 1] ?? 'trove-demo') : mkdtempSync(join(tmpdir(), 'trove-demo-'));
  const started = Date.now();
  let net: LocalNetwork | undefined;
  let neighbours: WorkerSupervisor | undefined;
  try {
    step(1, 'Starting a local chain (anvil) and deploying the Trove contracts.');
    net = await startLocalNetwork({ dir, roundStartDelayMs: 3_000 });
    console.log(`   chain ${net.deployment.chainId} at ${net.chain.url}; JobRegistry ${net.deployment.contracts.JobRegistry}`);

    step(2, 'A researcher publishes the job "Sleep, steps and mood": signed, hashed, reward escrowed on-chain.');
    const validation = validationSet();
    const { jobId, specHash, document } = await net.publish({}, validation);
    console.log(`   job ${jobId}, spec hash ${specHash.slice(0, 18)}…; coordinator at ${net.server.url}`);

    step(3, 'Your vault: created, and your sleep diary imported (rows with problems skipped).');
    const launcher = await bundledWorkerLauncher();
    const you = await net.addContributor('you', await readFile(SAMPLE, 'utf8'), { launcher });
    console.log(`   ${you.vault.count(you.datasetId)} days of your diary, sealed in ${join(dir, 'contributors', 'you', 'trove.vault')}`);

    step(4, 'Trove finds the job on-chain, checks its document, and shows you the consent card:');
    await you.jobs.refresh();
    printConsentCard(you.jobs.cardOf(jobId));

    step(5, `You join, with your columns mapped by name. ${OTHERS} other contributors join too.`);
    const others: Contributor[] = [];
    neighbours = new WorkerSupervisor({ launcher });
    for (let i = 0; i < OTHERS; i++) others.push(await net.addContributor(`neighbour-${i + 1}`, sleepDiaryCsv(500 + i, 240), { supervisor: neighbours }));
    await you.join(jobId);
    followYourRounds(you, jobId);
    await Promise.all(others.map((other) => other.join(jobId)));
    console.log(`   ${(await net.store.activeParticipants(jobId)).length} contributors enrolled; you train in your own worker process, the simulated others in one they share`);

    step(6, `${document.rounds} rounds of secure aggregation (${document.aggregation.deadlines.collectMaskedInputsMs / 1000} s at most per stage):`);
    const spec = document.training;
    const held = buildTrainingMatrix(spec, readValidationCsv(validation, spec));
    const startAccuracy = evaluateModel(spec.model, initialWeights(spec.model, spec.local.seed), held).accuracy ?? 0;
    const accuracy: number[] = [];
    await waitForJob(net, jobId, (r) => {
      const index = r.round;
      if (r.stage === 'aborted') {
        console.log(`   round ${index + 1} was abandoned: ${r.abortReason ?? 'too few contributors'}; the next one starts from the same model`);
        return;
      }
      accuracy.push(r.validation?.accuracy ?? 0);
      console.log(
        `   round ${index + 1} closed on-chain: ${r.groupSize} contributors in the group (root ${String(r.groupRoot).slice(0, 12)}…), ` +
          `tx ${String(r.closeTx).slice(0, 12)}…; accuracy on the researcher's held-out diaries ${((r.validation?.accuracy ?? 0) * 100).toFixed(1)}%`,
      );
    });

    step(7, 'How the shared model changed (accuracy predicting mood on diaries no contributor holds):');
    const rows: [string, number][] = [['starting model', startAccuracy], ...accuracy.map((a, i): [string, number] => [`after round ${i + 1}`, a])];
    for (const [label, a] of rows) console.log(`   ${label.padEnd(15)} ${bar(a, 40)} ${(a * 100).toFixed(1)}%`);
    console.log(`   ${accuracyChange(startAccuracy, accuracy.at(-1))}`);

    step(8, 'What left your computer, from your activity log:');
    const entries = you.vault.activity(0, 500).entries.filter((e) => e.kind.startsWith('job.')).reverse();
    for (const e of entries) console.log(`   #${e.seq} ${e.summary}`);
    const card = you.jobs.cardOf(jobId);
    console.log(`   log verification: ${you.vault.verifyActivity().ok ? 'intact' : 'BROKEN'}`);
    const receipts = Object.values(you.vault.getSetting<Record<string, SignedMaskedInputReceipt>>(RECEIPTS_SETTING) ?? {}).filter((r) => r.jobId === jobId);
    console.log(
      `   the coordinator's signed receipts for your masked lists, kept in your vault in case a close on-chain leaves one out: rounds ${receipts.map((r) => r.round + 1).join(', ') || 'none'}`,
    );
    console.log(
      `   privacy budget: epsilon ${card.privacy.afterEpsilon.toFixed(2)} of ${card.privacy.budget.epsilon} spent (${card.privacy.epsilon.toFixed(2)} by this job); rounds you contributed to: ${card.participation.roundsContributed}`,
    );
    step(9, 'You claim your rewards anonymously through a relayer: a proof per round, no ETH needed.');
    // The claims pay to a fresh address of the demo wallet you link in step 10.
    const walletKey = Wallet.createRandom().privateKey;
    await claimThroughRelayer(net, you, jobId, dir, new Wallet(walletKey).address);

    step(10, 'Your wallet: a demo wallet links through a local WalletConnect relay, and what your claims credited is withdrawn to it.');
    const network = await net.provider.getNetwork();
    const wallet = await linkDemoWalletAndWithdraw({
      vault: you.vault,
      chain: { chainId: Number(network.chainId), rpcUrl: net.chain.url, roundRewards: net.deployment.contracts.RoundRewards },
      tokens: [await net.token.getAddress()],
      funder: net.researcher,
      privateKey: walletKey,
      log: (line) => console.log(`   ${line}`),
    });
    console.log(`   received by ${wallet.address}: ${wallet.received.map((r) => r.amountText).join(', ') || 'nothing (no claim landed)'}`);
    console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await net?.close();
    await neighbours?.stop();
    await releaseVerifierThreads();
    if (keepAt < 0) rmSync(dir, { recursive: true, force: true });
    else console.log(`Files kept in ${dir}`);
  }
}

/** The change over the whole job in neutral words: the noise that protects people can also cost accuracy. */
export function accuracyChange(start: number, end: number | undefined): string {
  if (end === undefined) return 'No round finished, so the model did not change.';
  const points = (end - start) * 100;
  if (Math.abs(points) < 0.05) return `Overall: no change in accuracy (${(start * 100).toFixed(1)}%).`;
  const direction = points > 0 ? 'better' : 'worse';
  return `Overall: ${Math.abs(points).toFixed(1)} percentage points ${direction} than the starting model.`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await demo(process.argv.slice(2));
