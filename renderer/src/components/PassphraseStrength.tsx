// A passphrase strength meter: an estimate of guessing effort from length, variety and obvious
// patterns. It advises; the vault itself only insists on 8 characters.
import { useId } from 'react';

const COMMON = ['password', 'passphrase', 'qwerty', '123456', 'letmein', 'trove', 'admin', 'welcome', 'iloveyou', 'abc123'];

export interface Strength {
  score: 0 | 1 | 2 | 3 | 4;
  label: string;
  hint: string;
}

export function estimateStrength(p: string): Strength {
  if (p.length === 0) return { score: 0, label: 'Empty', hint: 'Use at least 8 characters; a few unrelated words work well.' };
  if ([...p].length < 8) return { score: 0, label: 'Too short', hint: `Add ${8 - [...p].length} more characters.` };
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(p)) pool += 33;
  let bits = [...p].length * Math.log2(Math.max(pool, 10));
  const lower = p.toLowerCase();
  if (COMMON.some((w) => lower.includes(w))) bits -= 20;
  if (/(.)\1{2,}/.test(p)) bits -= 10;
  if (/^[a-z]+$/i.test(p) && p.length < 12) bits -= 10;
  if (bits < 40) return { score: 1, label: 'Weak', hint: 'Easy to guess. Add more words or characters.' };
  if (bits < 60) return { score: 2, label: 'Fair', hint: 'Better. Another word would make it much harder to guess.' };
  if (bits < 80) return { score: 3, label: 'Strong', hint: 'Hard to guess. Make sure you can remember it: it cannot be recovered.' };
  return { score: 4, label: 'Very strong', hint: 'Very hard to guess. Make sure you can remember it: it cannot be recovered.' };
}

export function PassphraseStrength({ value }: { value: string }) {
  const s = estimateStrength(value);
  const id = useId();
  return (
    <div className="strength" data-score={s.score}>
      <div className="strength-bar" role="meter" aria-valuemin={0} aria-valuemax={4} aria-valuenow={s.score} aria-labelledby={id}>
        {[1, 2, 3, 4].map((i) => (
          <span key={i} className={i <= s.score ? 'on' : ''} />
        ))}
      </div>
      <p id={id} className="strength-text">
        <strong>Strength: {s.label}.</strong> {s.hint}
      </p>
    </div>
  );
}
