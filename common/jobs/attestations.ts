// Researchers the app can name with confidence: a list of (name, Ethereum address) pairs signed
// with an Ed25519 key the app trusts. A card shows the attested name next to the address, and
// warns when a job's display name is a known researcher's name at another address.
import { z } from 'zod';
import { TroveError } from '../errors.js';
import { loadSodium, sodiumNow } from '../secagg/sodium.js';
import { canonicalJson } from './document.js';

export const attestationListSchema = z
  .object({
    version: z.literal(1),
    researchers: z.array(z.object({ name: z.string().min(1).max(200), address: z.string().regex(/^0x[0-9a-fA-F]{40}$/) }).strict()).max(10_000),
  })
  .strict();

export const signedAttestationsSchema = z.object({ list: z.unknown(), signature: z.string().regex(/^[0-9a-f]{128}$/) }).strict();

export interface Attestations {
  /** The attested name of an address (lowercase), if any. */
  nameOf(address: string): string | null;
  /** Addresses (lowercase) attested under a name, compared without case or surrounding spaces. */
  addressesNamed(name: string): string[];
}

function nameKey(name: string): string {
  return name.normalize('NFKC').trim().toLowerCase();
}

/** The bytes signed: the list's canonical JSON. */
export function attestationMessage(list: z.infer<typeof attestationListSchema>): string {
  return canonicalJson(list);
}

/**
 * Checks a signed attestation list against the trusted public key (32 bytes, hex). Throws
 * INTEGRITY_FAILURE when the signature does not verify, INVALID_INPUT when the list is malformed.
 */
export async function verifyAttestations(signed: unknown, publicKeyHex: string): Promise<Attestations> {
  await loadSodium();
  const sodium = sodiumNow();
  const envelope = signedAttestationsSchema.safeParse(signed);
  const list = envelope.success ? attestationListSchema.safeParse(envelope.data.list) : null;
  if (!envelope.success || !list?.success) throw new TroveError('INVALID_INPUT', 'The list of known researchers is not in the expected form, so no names are attested.');
  const ok = sodium.crypto_sign_verify_detached(sodium.from_hex(envelope.data.signature), sodium.from_string(attestationMessage(list.data)), sodium.from_hex(publicKeyHex));
  if (!ok) throw new TroveError('INTEGRITY_FAILURE', 'The list of known researchers is not signed by the key Trove trusts, so no names are attested.');
  const byAddress = new Map<string, string>();
  const byName = new Map<string, string[]>();
  for (const r of list.data.researchers) {
    const address = r.address.toLowerCase();
    byAddress.set(address, r.name);
    byName.set(nameKey(r.name), [...(byName.get(nameKey(r.name)) ?? []), address]);
  }
  return {
    nameOf: (address) => byAddress.get(address.toLowerCase()) ?? null,
    addressesNamed: (name) => byName.get(nameKey(name)) ?? [],
  };
}
