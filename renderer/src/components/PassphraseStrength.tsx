// A passphrase strength meter, from the same estimate the vault uses to refuse weak passphrases.
import { useId } from 'react';
import { passphraseStrength } from '../../../common/passphrase-strength.js';

export function PassphraseStrength({ value }: { value: string }) {
  const s = passphraseStrength(value);
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
