// The locked vault: ask for the passphrase, say plainly what went wrong, and clear the field.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { AppError, call, messageOf } from '../ipc.js';
import { useApp } from '../store.js';
import { ErrorMessage, ScreenTitle, PathText } from '../components/ui.js';
import { RestoreForm } from './Settings.js';

export function Unlock() {
  const status = useApp((s) => s.status);
  const lockReason = useApp((s) => s.lockReason);
  const setStatus = useApp((s) => s.setStatus);
  const [passphrase, setPassphrase] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [restoring, setRestoring] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  // After a failed attempt, the field (now empty) has focus again for the next try.
  useEffect(() => {
    if (error) field.current?.focus();
  }, [error]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const attempt = passphrase;
    setPassphrase('');
    try {
      setStatus(await call('vault.unlock', { passphrase: attempt, ...(remember ? { remember: true } : {}) }), 'unlocked');
    } catch (err) {
      setError(err instanceof AppError && err.code === 'INVALID_INPUT' ? 'Type your passphrase to unlock the vault.' : messageOf(err));
      setBusy(false);
    }
  };

  return (
    <main className="onboarding">
      <div className="onboarding-card narrow">
        <div className="brand big" aria-hidden="true">
          <span className="logo">◆</span> Trove
        </div>
        <ScreenTitle focus={false} sub={lockReason === 'idle' ? 'Your vault locked itself after a while without use, and its keys were wiped from memory.' : 'Your data is encrypted. Enter your passphrase to open it.'}>
          Unlock your vault
        </ScreenTitle>
        <form onSubmit={(e) => void submit(e)} className="form" aria-busy={busy}>
          <label>
            Passphrase
            <input ref={field} type="password" autoComplete="current-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} autoFocus aria-invalid={error !== null} aria-describedby={error ? 'unlock-error' : undefined} />
          </label>
          {status?.canRemember ? (
            <label className="check">
              <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
              Remember on this device (kept in the system keychain; anyone who can log in as you could open the vault)
            </label>
          ) : null}
          <ErrorMessage error={error} id="unlock-error" />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Unlocking…' : 'Unlock'}
            </button>
          </div>
        </form>
        <details className="forgot">
          <summary>Forgot your passphrase?</summary>
          <p>
            Nobody can open the vault without its passphrase, not even Trove: that is what keeps your data safe if this computer is lost. What you can do:
          </p>
          <ul>
            <li>Try the passphrase you used before your last change, and check Caps Lock and the keyboard layout.</li>
            <li>If you have a backup and remember the passphrase the vault had when it was made, restore it. This vault is kept beside it, renamed with today's date, in case the passphrase comes back to you.</li>
          </ul>
          {restoring ? (
            <section aria-labelledby="unlock-restore-title">
              <h2 id="unlock-restore-title">Restore from a backup</h2>
              <RestoreForm />
            </section>
          ) : (
            <button type="button" onClick={() => setRestoring(true)}>
              Restore from a backup…
            </button>
          )}
        </details>
        <p className="muted small">
          Vault file: <PathText path={status?.storage.vaultFile} />
        </p>
      </div>
    </main>
  );
}
