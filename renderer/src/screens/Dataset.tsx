// One dataset: per-column summaries with small charts, the records page by page, and delete.
import { useEffect, useState } from 'react';
import type { ColumnSummary, DatasetInfo } from '../../../common/dataset.js';
import type { ResponseOf } from '../../../common/ipc/contract.js';
import { call, messageOf } from '../ipc.js';
import { useApp } from '../store.js';
import { ConfirmDialog, ErrorMessage, ScreenTitle } from '../components/ui.js';
import { Histogram, TopValues } from '../components/Charts.js';
import { formatCell, formatCount, formatNumber, formatTime } from '../format.js';

const PAGE = 25;

export function DatasetScreen({ id }: { id: string }) {
  const go = useApp((s) => s.go);
  const notify = useApp((s) => s.notify);
  const [info, setInfo] = useState<DatasetInfo | null>(null);
  const [summaries, setSummaries] = useState<ColumnSummary[] | null>(null);
  const [page, setPage] = useState<ResponseOf<'datasets.rows'> | null>(null);
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);

  useEffect(() => {
    call('datasets.get', { id }).then(setInfo, (err: unknown) => setError(messageOf(err)));
    call('datasets.summary', { id }).then(setSummaries, (err: unknown) => setError(messageOf(err)));
  }, [id]);

  useEffect(() => {
    call('datasets.rows', { id, offset, limit: PAGE }).then(setPage, (err: unknown) => setError(messageOf(err)));
  }, [id, offset]);

  const remove = async () => {
    setDeleting(true);
    try {
      await call('datasets.delete', { id });
      notify('success', `Deleted "${info?.name ?? 'dataset'}". Its key was destroyed, so its records cannot be read again.`);
      go({ screen: 'data' });
    } catch (err) {
      setError(messageOf(err));
      setDeleting(false);
      setConfirming(false);
    }
  };

  if (!info) {
    return (
      <>
        <ScreenTitle>Dataset</ScreenTitle>
        <ErrorMessage error={error} />
        {error ? (
          <button type="button" onClick={() => go({ screen: 'data' })}>
            Back to data
          </button>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </>
    );
  }

  const total = page?.total ?? info.rowCount;
  const last = Math.min(offset + PAGE, total);
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <button type="button" className="link" onClick={() => go({ screen: 'data' })}>
          Data
        </button>{' '}
        / {info.name}
      </nav>
      <ScreenTitle sub={`${formatCount(info.rowCount)} records · ${info.columns.length} columns${info.source ? ` · from ${info.source.fileName}` : ''} · imported ${formatTime(info.createdAt)}`}>
        {info.name}
      </ScreenTitle>
      <div className="toolbar">
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Delete dataset…
        </button>
      </div>
      <ErrorMessage error={error} />

      <section aria-labelledby="summary-title">
        <h2 id="summary-title">Columns at a glance</h2>
        {summaries === null ? <p className="muted">Summarizing…</p> : null}
        <ul className="summaries">
          {summaries?.map((s) => (
            <li key={s.column} className="card summary">
              <h3>{s.column}</h3>
              <p className="muted small">
                {s.type} · {formatCount(s.count)} values{s.nulls ? ` · ${formatCount(s.nulls)} missing` : ''}
              </p>
              {s.kind === 'numeric' ? (
                <>
                  <Histogram summary={s} />
                  <p className="small">
                    min {formatNumber(s.min, s.type)} · mean {formatNumber(s.mean, s.type === 'date' ? 'date' : undefined)} · max {formatNumber(s.max, s.type)}
                  </p>
                </>
              ) : (
                <>
                  <TopValues summary={s} />
                  <p className="small">
                    {formatCount(s.distinct)}
                    {s.distinctCapped ? '+' : ''} distinct values
                  </p>
                </>
              )}
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="records-title">
        <h2 id="records-title">Records</h2>
        <div className="table-scroll" tabIndex={0} aria-label="Records table">
          <table className="records">
            <thead>
              <tr>
                <th scope="col">#</th>
                {info.columns.map((c) => (
                  <th key={c.name} scope="col">
                    {c.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {page?.rows.map((r, i) => (
                <tr key={r.id}>
                  <td className="muted">{offset + i + 1}</td>
                  {r.values.map((v, k) => (
                    <td key={k} className={typeof v === 'number' ? 'num' : ''}>
                      {v === null ? <span className="muted">—</span> : formatCell(v, page.columns[k]?.type)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div className="pager">
          <button type="button" onClick={() => setOffset(Math.max(0, offset - PAGE))} disabled={offset === 0}>
            ← Previous
          </button>
          <span aria-live="polite">
            Records {total === 0 ? 0 : formatCount(offset + 1)}–{formatCount(last)} of {formatCount(total)}
          </span>
          <button type="button" onClick={() => setOffset(offset + PAGE)} disabled={last >= total}>
            Next →
          </button>
        </div>
      </section>

      <ConfirmDialog
        open={confirming}
        title={`Delete "${info.name}"?`}
        confirmLabel={deleting ? 'Deleting…' : 'Delete dataset'}
        danger
        busy={deleting}
        onConfirm={() => void remove()}
        onCancel={() => setConfirming(false)}
      >
        <p>
          All {formatCount(info.rowCount)} records and the key that encrypts them will be destroyed. This cannot be undone, except by restoring a backup made before now.
        </p>
      </ConfirmDialog>
    </>
  );
}
