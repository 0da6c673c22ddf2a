// First run: explain what Trove keeps and where, then create a vault with a passphrase (or bring
// one back from a backup).
import { useState, type FormEvent } from 'react';
import { call, messageOf } from '../ipc.js';
import { useApp } from '../store.js';
import { ErrorMessage, ScreenTitle, PathText } from '../components/ui.js';
import { passphraseStrength } from '../../../common/passphrase-strength.js';
import { PassphraseStrength } from '../components/PassphraseStrength.js';
import { RestoreForm } from './Settings.js';

export function Onboarding() {
  const [mode, setMode] = useState<'create' | 'restore'>('create');
  return (
    <main className="onboarding">
      <div className="onboarding-card">
        <div className="brand big" aria-hidden="true">
          <span className="logo">◆</span> Trove
        </div>
        {mode === 'create' ? <CreateVault onRestore={() => setMode('restore')} /> : <RestoreVault onBack={() => setMode('create')} />}
      </div>
    </main>
  );
}

function WhereThingsAre() {
  const status = useApp((s) => s.status);
  return (
    <section className="where" aria-labelledby="where-title">
      <h2 id="where-title">What is stored where</h2>
      <ul>
        <li>
          <strong>Your data</strong> stays on this device, in one encrypted file:{' '}
          <PathText path={status?.storage.vaultFile} />
        </li>
        <li>
          <strong>Everything in it</strong> — values, dataset and column names, the activity log — is encrypted with a key only your passphrase unlocks.
        </li>
        <li>
          <strong>Your passphrase</strong> is never stored or sent anywhere. If you forget it, nobody can recover the vault; keep a backup and the passphrase safe.
        </li>
        <li>
          <strong>Backups</strong> are encrypted too, and go to <PathText path={status?.storage.backupsFolder} /> unless you choose another place.
        </li>
      </ul>
    </section>
  );
}

function CreateVault({ onRestore }: { onRestore: () => void }) {
  const setStatus = useApp((s) => s.setStatus);
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const strength = passphraseStrength(passphrase);
  const mismatch = confirm.length > 0 && confirm !== passphrase;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!strength.acceptable) return setError(`This passphrase is too easy to guess. ${strength.hint}`);
    if (passphrase !== confirm) return setError('The two passphrases are different. Type the same passphrase twice.');
    setBusy(true);
    setError(null);
    try {
      const status = await call('vault.create', { passphrase });
      setPassphrase('');
      setConfirm('');
      setStatus(status, 'created');
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <>
      <ScreenTitle sub="A private, encrypted home for your data on this device. Research jobs come to your data; your data never leaves.">
        Create your vault
      </ScreenTitle>
      <WhereThingsAre />
      <form onSubmit={(e) => void submit(e)} className="form" aria-busy={busy}>
        <label>
          Passphrase
          <input type="password" autoComplete="new-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} required aria-describedby="strength" />
        </label>
        <div id="strength">
          <PassphraseStrength value={passphrase} />
        </div>
        <label>
          Type it again
          <input type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required aria-invalid={mismatch} />
        </label>
        {mismatch ? <p className="warning">The passphrases do not match yet.</p> : null}
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating vault…' : 'Create vault'}
          </button>
          <button type="button" className="link" onClick={onRestore}>
            I have a backup
          </button>
        </div>
      </form>
    </>
  );
}

function RestoreVault({ onBack }: { onBack: () => void }) {
  return (
    <>
      <ScreenTitle sub="Bring back a vault from an encrypted backup file, with the passphrase the vault had when the backup was made.">Restore from a backup</ScreenTitle>
      <RestoreForm />
      <div className="actions">
        <button type="button" className="link" onClick={onBack}>
          Create a new vault instead
        </button>
      </div>
    </>
  );
}

