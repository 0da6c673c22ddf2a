// The coordinator's receipt for this device's masked input: checked before it is kept, and kept in
// the vault (one per job and round) so that, if the round's close on-chain leaves the input out,
// the person can challenge the close (ReceiptChallenges) and be paid from the researcher's stake.
// A missing or wrong receipt is COORDINATOR_PROTOCOL: the input has already left, so the round goes
// on, and the problem is shown.
import type { TypedDataDomain } from 'ethers';
import { checkMaskedInputReceipt, maskedInputHash, receiptDomain, type SignedMaskedInputReceipt } from '../../../common/jobs/masked-input-receipt.js';
import { rosterHash } from '../../../common/jobs/roster-hash.js';
import type { Vault } from '../vault/index.js';

/** Vault setting holding every kept receipt, by `chainId/ReceiptChallenges/jobId/round`. */
export const RECEIPTS_SETTING = 'jobs.receipts';

export interface ReceiptChainConfig {
  chainId: string;
  /** The ReceiptChallenges contract: the receipts' EIP-712 domain. */
  receiptChallenges: string;
}

/** What this device sent, and to whom: a receipt must name exactly this. */
export interface SentMaskedInput {
  jobId: string;
  round: number;
  /** The roster as checked against the one frozen on-chain, in roster order. */
  roster: readonly string[];
  commitment: bigint;
  /** The job's coordinator account (the signer of receipts). */
  coordinator: string;
  message: Uint8Array;
}

/** Checks the coordinator's answer to a masked input and keeps the receipt; throws COORDINATOR_PROTOCOL when it is not one. */
export type ReceiptKeeper = (sent: SentMaskedInput, answer: unknown) => Promise<SignedMaskedInputReceipt>;

export function receiptKey(config: ReceiptChainConfig, jobId: string, round: number): string {
  return `${config.chainId}/${config.receiptChallenges.toLowerCase()}/${jobId}/${round}`;
}

export function vaultReceiptKeeper(vault: Pick<Vault, 'updateSetting'>, config: ReceiptChainConfig): ReceiptKeeper {
  const domain: TypedDataDomain = receiptDomain(config.chainId, config.receiptChallenges);
  return async (sent, answer) => {
    const receipt = checkMaskedInputReceipt(answer, {
      domain,
      coordinator: sent.coordinator,
      receipt: {
        jobId: BigInt(sent.jobId),
        round: BigInt(sent.round),
        rosterHash: rosterHash(sent.roster),
        commitment: sent.commitment,
        maskedInputHash: maskedInputHash(sent.message),
      },
    });
    await vault.updateSetting<Record<string, SignedMaskedInputReceipt>>(RECEIPTS_SETTING, (all) => ({ ...all, [receiptKey(config, sent.jobId, sent.round)]: receipt }));
    return receipt;
  };
}
