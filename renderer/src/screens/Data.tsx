// The datasets in the vault, and the way in to importing more.
import { useEffect, useState } from 'react';
import type { DatasetInfo } from '../../../common/dataset.js';
import { call, messageOf } from '../ipc.js';
import { useApp } from '../store.js';
import { ErrorMessage, ScreenTitle } from '../components/ui.js';
import { formatCount, formatTime } from '../format.js';

export function DataScreen() {
  const go = useApp((s) => s.go);
  const [datasets, setDatasets] = useState<DatasetInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    call('datasets.list', {}).then(setDatasets, (err: unknown) => setError(messageOf(err)));
  }, []);

  return (
    <>
      <ScreenTitle sub="Everything here is encrypted on this device.">Your data</ScreenTitle>
      <div className="toolbar">
        <button type="button" className="primary" onClick={() => go({ screen: 'import' })}>
          Import a file
        </button>
      </div>
      <ErrorMessage error={error} />
      {datasets === null && !error ? <p className="muted">Loading datasets…</p> : null}
      {datasets?.length === 0 ? (
        <div className="panel empty">
          <h2>No datasets yet</h2>
          <p>Import a CSV, JSON or JSON Lines file to start. You will see a preview and choose each column's type before anything is stored.</p>
        </div>
      ) : null}
      {datasets && datasets.length > 0 ? (
        <ul className="cards" aria-label="Datasets">
          {datasets.map((d) => (
            <li key={d.id} className="card">
              <h2>
                <button type="button" className="link card-link" onClick={() => go({ screen: 'dataset', id: d.id })}>
                  {d.name}
                </button>
              </h2>
              {d.damaged ? (
                <p role="alert">{d.damaged}</p>
              ) : (
                <p>
                  {formatCount(d.rowCount)} records · {d.columns.length} columns
                </p>
              )}
              <p className="muted small">
                {d.source ? `From ${d.source.fileName} · ` : ''}Imported {formatTime(d.createdAt)}
              </p>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
