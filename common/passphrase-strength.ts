// How hard a passphrase is to guess, estimated by zxcvbn from dictionaries of common passwords,
// words and names, with repeats, sequences, dates and keyboard patterns penalised. One estimate
// for the app's meter, the vault and the command line, so what the meter calls weak is refused.
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

export const MIN_PASSPHRASE_CHARS = 8;

export interface Strength {
  /** 0 (empty or too short) to 4 (very strong); the meter shows it as bars. */
  score: 0 | 1 | 2 | 3 | 4;
  label: string;
  hint: string;
  /** Whether a vault may be created with it (or changed to it). */
  acceptable: boolean;
}

// Built on first use: loading the dictionaries takes a moment, and most runs never need them.
let estimator: ZxcvbnFactory | null = null;

function estimate(p: string) {
  estimator ??= new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations });
  // The estimator's cost grows with length; beyond 100 characters a passphrase is long enough.
  return estimator.check(p.slice(0, 100));
}

export function passphraseStrength(p: string): Strength {
  const chars = [...p].length;
  if (chars === 0) return { score: 0, label: 'Empty', hint: `Use at least ${MIN_PASSPHRASE_CHARS} characters; a few unrelated words work well.`, acceptable: false };
  if (chars < MIN_PASSPHRASE_CHARS) return { score: 0, label: 'Too short', hint: `Add ${MIN_PASSPHRASE_CHARS - chars} more characters; a few unrelated words work well.`, acceptable: false };
  const r = estimate(p);
  if (r.score <= 1) {
    const why = r.feedback.warning ? `${r.feedback.warning} ` : 'Easy to guess. ';
    return { score: 1, label: 'Weak', hint: `${why}Add a few unrelated words, or choose another passphrase.`, acceptable: false };
  }
  if (r.score === 2) return { score: 2, label: 'Fair', hint: 'Better. Another word would make it much harder to guess.', acceptable: true };
  if (r.score === 3) return { score: 3, label: 'Strong', hint: 'Hard to guess. Make sure you can remember it: it cannot be recovered.', acceptable: true };
  return { score: 4, label: 'Very strong', hint: 'Very hard to guess. Make sure you can remember it: it cannot be recovered.', acceptable: true };
}
