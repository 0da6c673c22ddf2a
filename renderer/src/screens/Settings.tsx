// Settings, most used first: backups, auto-lock, local training, analytics questions, this device and appearance, the wallet link, the
// passphrase; replacing the vault with a backup last, set apart, because it cannot be undone from here.
import { useEffect, useState, type FormEvent } from 'react';
import type { ResponseOf } from '../../../common/ipc/contract.js';
import type { StagedFileValue } from '../../../common/ipc/api.js';
import { AppError, call, messageOf } from '../ipc.js';
import { useApp, type Theme } from '../store.js';
import { ErrorMessage, FilePicker, ScreenTitle, PathText } from '../components/ui.js';
import { passphraseStrength } from '../../../common/passphrase-strength.js';
import { relaySettingsProblem } from '../../../common/wallet/relay-settings.js';
import { PassphraseStrength } from '../components/PassphraseStrength.js';
import { AnalyticsSettings } from '../components/AnalyticsSettings.js';
import { formatBytes, formatDuration, formatLockAfter, formatTime } from '../format.js';
import { MEMORY_LIMIT_CHOICES_MB, TIME_LIMIT_CHOICES_MINUTES } from '../../../common/jobs/resources.js';

const AUTO_LOCK_CHOICES: (number | null)[] = [60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, 3600_000, null];

export function SettingsScreen() {
  return (
    <>
      <ScreenTitle>Settings</ScreenTitle>
      <div className="settings">
        <Backups />
        <AutoLock />
        <LocalTraining />
        <AnalyticsSettings />
        <DeviceAndLooks />
        <WalletRelay />
        <ChangePassphrase />
        <DangerZone />
      </div>
    </>
  );
}

function ChangePassphrase() {
  const notify = useApp((s) => s.notify);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (next !== confirm) return setError('The new passphrases are different. Type the same new passphrase twice.');
    const strength = passphraseStrength(next);
    if (!strength.acceptable) return setError(`The new passphrase is too easy to guess. ${strength.hint}`);
    setBusy(true);
    setError(null);
    try {
      await call('vault.changePassphrase', { current, next });
      setCurrent('');
      setNext('');
      setConfirm('');
      notify('success', 'Passphrase changed. Use the new one next time you unlock.');
    } catch (err) {
      setCurrent('');
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="pass-title">
      <h2 id="pass-title">Passphrase</h2>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <label>
          Current passphrase
          <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
        </label>
        <label>
          New passphrase
          <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />
        </label>
        {next ? <PassphraseStrength value={next} /> : null}
        <label>
          New passphrase again
          <input type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required />
        </label>
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Changing…' : 'Change passphrase'}
          </button>
        </div>
      </form>
    </section>
  );
}

function AutoLock() {
  const status = useApp((s) => s.status);
  const setStatus = useApp((s) => s.setStatus);
  const [error, setError] = useState<string | null>(null);
  const value = status?.autoLockMs ?? null;
  const change = async (ms: number | null) => {
    setError(null);
    try {
      setStatus(await call('vault.setAutoLock', { ms }));
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <section className="panel" aria-labelledby="autolock-title">
      <h2 id="autolock-title">Auto-lock</h2>
      <label className="inline">
        Lock the vault after it is unused for
        <select value={value === null ? 'never' : String(value)} onChange={(e) => void change(e.target.value === 'never' ? null : Number(e.target.value))}>
          {AUTO_LOCK_CHOICES.includes(value) ? null : <option value={String(value)}>{formatLockAfter(value)}</option>}
          {AUTO_LOCK_CHOICES.map((ms) => (
            <option key={String(ms)} value={ms === null ? 'never' : String(ms)}>
              {formatLockAfter(ms)}
            </option>
          ))}
        </select>
      </label>
      <p className="muted">Locking wipes the vault's keys from memory; you need your passphrase to continue.</p>
      <ErrorMessage error={error} />
    </section>
  );
}

function Backups() {
  const status = useApp((s) => s.status);
  const [backups, setBackups] = useState<ResponseOf<'vault.backups'> | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [integrity, setIntegrity] = useState<ResponseOf<'vault.checkIntegrity'> | null>(null);
  const [written, setWritten] = useState<string | null>(null);

  useEffect(() => {
    call('vault.backups', {}).then(setBackups, (err: unknown) => setError(messageOf(err)));
  }, []);

  const backup = async () => {
    setBusy(true);
    setError(null);
    try {
      const made = await call('vault.backup', {});
      if (made) {
        setWritten(`Backup written: ${made.fileName} (${formatBytes(made.bytes)}).`);
        setBackups(await call('vault.backups', {}));
      }
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const check = async () => {
    setError(null);
    try {
      setIntegrity(await call('vault.checkIntegrity', {}));
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section className="panel" aria-labelledby="backup-title">
      <h2 id="backup-title">Backups</h2>
      <p className="muted">
        A backup is one encrypted file; it opens only with the passphrase the vault has when you make it. Backups are saved in{' '}
        <PathText path={status?.storage.backupsFolder} />. Copy them somewhere safe, away from this device.
      </p>
      <div className="actions">
        <button type="button" className="primary" onClick={() => void backup()} disabled={busy}>
          {busy ? 'Writing backup…' : 'Back up now'}
        </button>
        <button type="button" onClick={() => void check()}>
          Check vault integrity
        </button>
      </div>
      {written ? (
        <p className="success" role="status">
          {written}
        </p>
      ) : null}
      {integrity ? (
        <p className={integrity.ok ? 'success' : 'error'} role="status">
          {integrity.ok
            ? `Every record of ${integrity.datasets} ${integrity.datasets === 1 ? 'dataset' : 'datasets'} decrypts, and the activity log is intact.`
            : `Problems found: ${integrity.problems.join(' ')} Restore a backup.`}
        </p>
      ) : null}
      <ErrorMessage error={error} />
      {backups && backups.length > 0 ? (
        <ul className="backups" aria-label="Backups on this device">
          {backups.map((b) => (
            <li key={b.fileName}>
              <code>{b.fileName}</code> <span className="muted">· {formatBytes(b.bytes)} · {formatTime(b.at)}</span>
            </li>
          ))}
        </ul>
      ) : backups ? (
        <p className="muted">No backups in that folder yet.</p>
      ) : null}
    </section>
  );
}

/** Replacing the vault: behind a deliberate step, so nobody starts it by accident. */
function DangerZone() {
  const [open, setOpen] = useState(false);
  return (
    <section className="panel danger-zone" aria-labelledby="restore-title">
      <h2 id="restore-title">Replace this vault with a backup</h2>
      <p className="muted">
        Replaces the vault on this device with the one in a backup file. The current vault is kept beside it, renamed with today's date. Jobs pause while the vault is replaced and then follow the restored vault.
      </p>
      {open ? (
        <>
          <RestoreForm />
          <button type="button" className="link" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" className="danger" onClick={() => setOpen(true)}>
          Restore from a backup…
        </button>
      )}
    </section>
  );
}

/** Choose a backup file and give its passphrase; used in Settings, on Unlock and on first run. */
export function RestoreForm() {
  const setStatus = useApp((s) => s.setStatus);
  const notify = useApp((s) => s.notify);
  const go = useApp((s) => s.go);
  const [file, setFile] = useState<StagedFileValue | null>(null);
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const choose = async (f: File) => {
    setError(null);
    setBusy(true);
    try {
      const staged = await window.trove.stageFile(f);
      if (!staged.ok) throw new AppError(staged.error);
      setFile(staged.value);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return setError('Choose a backup file first.');
    setBusy(true);
    setError(null);
    const attempt = passphrase;
    setPassphrase('');
    try {
      const status = await call('vault.restore', { file: file.token, passphrase: attempt });
      setFile(null);
      notify('success', 'Vault restored from the backup.');
      go({ screen: 'data' });
      setStatus(status, 'restored');
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={(e) => void submit(e)} aria-busy={busy}>
      {file ? (
        <p>
          Backup file: <code>{file.name}</code> ({formatBytes(file.size)}){' '}
          <button type="button" className="link" onClick={() => setFile(null)}>
            Choose another
          </button>
        </p>
      ) : (
        <FilePicker label="Choose backup file" accept=".trovebackup" onFile={(f) => void choose(f)} disabled={busy} testId="restore-file" hint="Drop a .trovebackup file here, or" />
      )}
      <label>
        Passphrase of the backed-up vault
        <input type="password" autoComplete="current-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} required />
      </label>
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || !file}>
          {busy ? 'Restoring…' : 'Restore vault'}
        </button>
      </div>
    </form>
  );
}

function LocalTraining() {
  const [view, setView] = useState<ResponseOf<'jobs.list'> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call('jobs.list', {}).then(setView, (err: unknown) => setError(messageOf(err)));
  }, []);
  const save = async (next: Promise<ResponseOf<'jobs.list'>>) => {
    setError(null);
    try {
      setView(await next);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const limits = view?.limits;
  return (
    <section className="panel" aria-labelledby="training-title">
      <h2 id="training-title">Local training</h2>
      <label className="check">
        <input type="checkbox" checked={view?.useGpu ?? true} disabled={view === null} onChange={(e) => void save(call('jobs.setUseGpu', { useGpu: e.target.checked }))} />
        Train on this device's GPU when it has one that passes a quick check
      </label>
      <p className="muted">Turn this off if the GPU makes the computer hot or slow during jobs; training then runs on the CPU. Each job's progress says where it trains.</p>
      <div className="toolbar">
        <label>
          Memory one job may use
          <select
            value={limits?.maxMemoryMb ?? 1024}
            disabled={!limits}
            onChange={(e) => limits && void save(call('jobs.setLimits', { limits: { ...limits, maxMemoryMb: Number(e.target.value) as typeof limits.maxMemoryMb } }))}
          >
            {MEMORY_LIMIT_CHOICES_MB.map((mb) => (
              <option key={mb} value={mb}>
                {formatBytes(mb * 1024 * 1024)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Training time per round
          <select
            value={limits?.maxMinutesPerRound ?? 15}
            disabled={!limits}
            onChange={(e) => limits && void save(call('jobs.setLimits', { limits: { ...limits, maxMinutesPerRound: Number(e.target.value) as typeof limits.maxMinutesPerRound } }))}
          >
            {TIME_LIMIT_CHOICES_MINUTES.map((m) => (
              <option key={m} value={m}>
                {formatDuration(m * 60_000)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted">Trove estimates what each job takes before you join; a job beyond these limits says so on its card and cannot be joined.</p>
      <ErrorMessage error={error} />
    </section>
  );
}

function DeviceAndLooks() {
  const status = useApp((s) => s.status);
  const setStatus = useApp((s) => s.setStatus);
  const theme = useApp((s) => s.theme);
  const setTheme = useApp((s) => s.setTheme);
  return (
    <section className="panel" aria-labelledby="device-title">
      <h2 id="device-title">This device</h2>
      <p>
        Vault file: <PathText path={status?.storage.vaultFile} />
      </p>
      {status?.remembered ? (
        <p>
          This device remembers your passphrase in its keychain.{' '}
          <button type="button" onClick={() => void call('vault.forgetDevice', {}).then((s) => setStatus(s))}>
            Forget it
          </button>
        </p>
      ) : (
        <p className="muted">{status?.canRemember ? 'Your passphrase is not remembered on this device (choose "Remember" when unlocking to change that).' : 'Your passphrase is not remembered on this device.'}</p>
      )}
      <fieldset className="policy">
        <legend>Appearance</legend>
        {(['system', 'light', 'dark'] as Theme[]).map((t) => (
          <label key={t} className="check">
            <input type="radio" name="theme" checked={theme === t} onChange={() => setTheme(t)} />
            {t === 'system' ? 'Match the system' : t === 'light' ? 'Light' : 'Dark'}
          </label>
        ))}
      </fieldset>
    </section>
  );
}

/** Where a wallet links: the WalletConnect relay and project id, checked before they are saved. */
function WalletRelay() {
  const notify = useApp((s) => s.notify);
  const [available, setAvailable] = useState(false);
  const [relayUrl, setRelayUrl] = useState('');
  const [projectId, setProjectId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    call('wallet.view', {}).then(
      (v) => {
        setAvailable(v.available);
        setRelayUrl(v.settings.relayUrl);
        setProjectId(v.settings.projectId);
      },
      () => setAvailable(false),
    );
  }, []);

  if (!available) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = relaySettingsProblem({ relayUrl, projectId });
    if (problem) return setError(problem);
    setBusy(true);
    setError(null);
    try {
      const v = await call('wallet.setSettings', { relayUrl, projectId });
      setRelayUrl(v.settings.relayUrl);
      setProjectId(v.settings.projectId);
      notify('success', 'Relay settings saved. The next wallet you link connects through this relay.');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="relay-title">
      <h2 id="relay-title">Wallet link</h2>
      <p className="muted">Your wallet and Trove find each other through a WalletConnect relay. It passes encrypted messages only; it never holds your keys.</p>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label>
          Relay address
          <input type="url" value={relayUrl} onChange={(e) => setRelayUrl(e.target.value)} spellCheck={false} autoComplete="off" aria-invalid={error !== null} />
        </label>
        <label>
          Project id
          <input type="text" value={projectId} onChange={(e) => setProjectId(e.target.value)} spellCheck={false} autoComplete="off" aria-invalid={error !== null} />
        </label>
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save relay settings'}
          </button>
        </div>
      </form>
    </section>
  );
}
