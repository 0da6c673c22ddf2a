// Settings for analytics jobs: "show me each result before it is sent", and the researchers'
// programs Trove may run — its published list of checked programs, which the person can take
// programs off, and the ones the person approved or added by fingerprint.
import { useEffect, useState, type FormEvent } from 'react';
import type { ResponseOf } from '../../../common/ipc/contract.js';
import { call, messageOf } from '../ipc.js';
import { ErrorMessage } from './ui.js';

type View = ResponseOf<'jobs.list'>;

export function AnalyticsSettings() {
  const [view, setView] = useState<View | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [hash, setHash] = useState('');
  useEffect(() => {
    call('jobs.list', {}).then(setView, (err: unknown) => setError(messageOf(err)));
  }, []);
  const save = async (next: Promise<View>): Promise<boolean> => {
    setError(null);
    try {
      setView(await next);
      return true;
    } catch (err) {
      setError(messageOf(err));
      return false;
    }
  };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (await save(call('jobs.setModuleTrust', { sha256: hash.trim().toLowerCase(), trusted: true }))) setHash('');
  };
  const a = view?.analytics;
  return (
    <section className="panel" aria-labelledby="analytics-title">
      <h2 id="analytics-title">Questions researchers ask</h2>
      <label className="check">
        <input type="checkbox" checked={a?.reviewResults ?? false} disabled={!a} onChange={(e) => void save(call('jobs.setReviewResults', { reviewResults: e.target.checked }))} />
        Show me each result before it is sent
      </label>
      <p className="muted">Trove then shows you the exact numbers a question computed from your data, and sends them only if you agree. What you decline is listed in Activity.</p>
      <h3>Programs Trove may run</h3>
      <p className="muted">Some jobs run a researcher&apos;s own program. Trove runs those on this list without asking; any other only after you approve it on the job&apos;s page.</p>
      {a && a.trustedModules.length > 0 ? (
        <ul className="trusted-programs" aria-label="Programs Trove may run">
          {a.trustedModules.map((m) => (
            <li key={m.sha256}>
              <span>
                {m.name ?? 'A program you approved'}
                <span className="muted small">
                  {' '}
                  · {m.source === 'removed' ? 'taken off by you' : m.auditedBy.length > 0 ? `checked by ${m.auditedBy.join(', ')}` : 'approved by you'}
                </span>
                <br />
                <code className="small">{m.sha256}</code>
              </span>
              <button type="button" onClick={() => void save(call('jobs.setModuleTrust', { sha256: m.sha256, trusted: m.source === 'removed' }))}>
                {m.source === 'removed' ? 'Trust again' : 'Stop trusting'}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <form className="toolbar" onSubmit={(e) => void add(e)}>
        <label>
          Add a program by its fingerprint (sha256)
          <input value={hash} onChange={(e) => setHash(e.target.value)} spellCheck={false} autoComplete="off" placeholder="64 letters and digits" />
        </label>
        <button type="submit" disabled={!a || hash.trim().length === 0}>
          Add
        </button>
      </form>
      <ErrorMessage error={error} />
    </section>
  );
}
