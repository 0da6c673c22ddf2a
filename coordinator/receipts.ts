// The coordinator's acknowledgement of each masked input it accepts: an EIP-712 receipt signed with
// its chain key (common/jobs/masked-input-receipt.ts). A contributor keeps it; if the round's close
// on-chain leaves its input out, the receipt wins a challenge paid from the researcher's stake.
import { rosterHash } from '../common/jobs/roster-hash.js';
import { maskedInputHash, receiptDomain, signMaskedInputReceipt, type SignedMaskedInputReceipt } from '../common/jobs/masked-input-receipt.js';
import type { Signer } from 'ethers';
import type { TroveDeployment } from '../contracts/deploy.js';

/** The signed receipt for `message`, the masked input of the contributor with `commitment` on `roster` (as frozen on-chain). */
export function signReceipt(
  chain: { coordinator: Signer; deployment: TroveDeployment },
  at: { jobId: string; round: number; roster: readonly string[]; commitment: string },
  message: Uint8Array,
): Promise<SignedMaskedInputReceipt> {
  const domain = receiptDomain(chain.deployment.chainId, chain.deployment.contracts.ReceiptChallenges);
  return signMaskedInputReceipt(chain.coordinator, domain, {
    jobId: BigInt(at.jobId),
    round: BigInt(at.round),
    rosterHash: rosterHash(at.roster),
    commitment: BigInt(at.commitment),
    maskedInputHash: maskedInputHash(message),
  });
}
