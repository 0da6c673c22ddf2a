// One dataset: per-column summaries with small charts, the records page by page, and the person's
// control over them: delete chosen records, change a value, rename, export, delete the dataset.
import { useCallback, useEffect, useState } from 'react';
import type { CellValue, ColumnSchema, ColumnSummary, DatasetInfo } from '../../../common/dataset.js';
import type { ResponseOf } from '../../../common/ipc/contract.js';
import { call, messageOf } from '../ipc.js';
import { useApp } from '../store.js';
import { ConfirmDialog, ErrorMessage, ScreenTitle } from '../components/ui.js';
import { Histogram, TopValues } from '../components/Charts.js';
import { formatCell, formatCount, formatNumber, formatTime } from '../format.js';
import { saveFile } from '../download.js';

const PAGE = 25;

/** What each type accepts, for the person changing a value. */
const TYPE_HINTS: Record<ColumnSchema['type'], string> = {
  number: 'A number, such as 3.5. Leave empty for a missing value.',
  integer: 'A whole number, such as 42. Leave empty for a missing value.',
  string: 'Any text. Leave empty for a missing value.',
  category: 'A short label. Leave empty for a missing value.',
  boolean: 'yes or no (or true/false). Leave empty for a missing value.',
  date: 'A date such as 2024-03-18, 2024-03-18T09:30:00Z or Mar 18 2024. Leave empty for a missing value.',
};

/** A value as the person would type it back. */
function editableText(v: CellValue, type: ColumnSchema['type']): string {
  if (v === null) return '';
  return formatCell(v, type).replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d)Z$/, '$1T$2Z');
}

interface Editing {
  recordId: number;
  number: number;
  column: ColumnSchema;
  text: string;
}

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
  // Bumped after each change, so the summaries and the page are read again.
  const [version, setVersion] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [deletingRecords, setDeletingRecords] = useState<'confirm' | 'busy' | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [editError, setEditError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [renameError, setRenameError] = useState<string | null>(null);
  const [exporting, setExporting] = useState<'csv' | 'json' | null>(null);

  useEffect(() => {
    call('datasets.get', { id }).then(setInfo, (err: unknown) => setError(messageOf(err)));
    call('datasets.summary', { id }).then(setSummaries, (err: unknown) => setError(messageOf(err)));
  }, [id, version]);

  useEffect(() => {
    call('datasets.rows', { id, offset, limit: PAGE }).then(setPage, (err: unknown) => setError(messageOf(err)));
  }, [id, offset, version]);

  useEffect(() => setSelected(new Set()), [id, offset]);

  const changed = useCallback(() => {
    setError(null);
    setVersion((v) => v + 1);
  }, []);

  const toggle = (recordId: number) =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(recordId)) next.add(recordId);
      return next;
    });

  const deleteSelected = async () => {
    setDeletingRecords('busy');
    try {
      const { deleted } = await call('datasets.deleteRecords', { id, recordIds: [...selected] });
      notify('success', `Deleted ${deleted === 1 ? 'one record' : `${formatCount(deleted)} records`} from "${info?.name ?? 'the dataset'}".`);
      const left = (page?.total ?? 0) - deleted;
      if (offset >= left && offset > 0) setOffset(Math.max(0, Math.floor((left - 1) / PAGE) * PAGE));
      setSelected(new Set());
      changed();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setDeletingRecords(null);
    }
  };

  const saveEdit = async () => {
    if (!editing) return;
    setSaving(true);
    setEditError(null);
    try {
      await call('datasets.editValue', { id, recordId: editing.recordId, column: editing.column.name, value: editing.text.trim() === '' ? null : editing.text });
      notify('success', `Changed "${editing.column.name}" of record ${formatCount(editing.number)}.`);
      setEditing(null);
      changed();
    } catch (err) {
      setEditError(messageOf(err));
    } finally {
      setSaving(false);
    }
  };

  const saveName = async () => {
    if (renaming === null) return;
    setSaving(true);
    setRenameError(null);
    try {
      const renamed = await call('datasets.rename', { id, name: renaming });
      setInfo(renamed);
      notify('success', `Renamed to "${renamed.name}".`);
      setRenaming(null);
      changed();
    } catch (err) {
      setRenameError(messageOf(err));
    } finally {
      setSaving(false);
    }
  };

  const exportAs = async (format: 'csv' | 'json') => {
    setExporting(format);
    try {
      const file = await call('datasets.export', { id, format });
      saveFile(file.fileName, file.text, format === 'csv' ? 'text/csv' : 'application/json');
      notify('success', `Saved ${formatCount(file.records)} records as ${file.fileName}. That file is not encrypted: keep it somewhere safe.`);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setExporting(null);
    }
  };

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
        <button type="button" onClick={() => { setRenameError(null); setRenaming(info.name); }}>
          Rename…
        </button>
        <button type="button" onClick={() => void exportAs('csv')} disabled={exporting !== null}>
          {exporting === 'csv' ? 'Exporting…' : 'Export as CSV'}
        </button>
        <button type="button" onClick={() => void exportAs('json')} disabled={exporting !== null}>
          {exporting === 'json' ? 'Exporting…' : 'Export as JSON'}
        </button>
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
        <p className="muted small">Choose a value to change it. Tick records to delete them.</p>
        <div className="toolbar records-actions">
          <button type="button" className="danger" disabled={selected.size === 0} onClick={() => setDeletingRecords('confirm')}>
            {selected.size === 0 ? 'Delete selected records…' : `Delete ${selected.size === 1 ? '1 selected record' : `${formatCount(selected.size)} selected records`}…`}
          </button>
        </div>
        <div className="table-scroll" tabIndex={0} aria-label="Records table">
          <table className="records">
            <thead>
              <tr>
                <th scope="col" className="select">
                  <input
                    type="checkbox"
                    aria-label="Select every record on this page"
                    checked={!!page && page.rows.length > 0 && page.rows.every((r) => selected.has(r.id))}
                    onChange={(e) => setSelected(e.target.checked ? new Set(page?.rows.map((r) => r.id)) : new Set())}
                  />
                </th>
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
                <tr key={r.id} aria-selected={selected.has(r.id)}>
                  <td className="select">
                    <input type="checkbox" aria-label={`Select record ${offset + i + 1}`} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />
                  </td>
                  <td className="muted">{offset + i + 1}</td>
                  {r.values.map((v, k) => {
                    const column = page.columns[k]!;
                    return (
                      <td key={k} className={typeof v === 'number' ? 'num' : ''}>
                        <button
                          type="button"
                          className="cell"
                          aria-label={`Change ${column.name} of record ${offset + i + 1}`}
                          onClick={() => {
                            setEditError(null);
                            setEditing({ recordId: r.id, number: offset + i + 1, column, text: editableText(v, column.type) });
                          }}
                        >
                          {v === null ? <span className="muted">—</span> : formatCell(v, column.type)}
                        </button>
                      </td>
                    );
                  })}
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

      {deletingRecords ? (
        <ConfirmDialog
          open
          title={`Delete ${selected.size === 1 ? '1 record' : `${formatCount(selected.size)} records`}?`}
          confirmLabel={deletingRecords === 'busy' ? 'Deleting…' : 'Delete records'}
          danger
          busy={deletingRecords === 'busy'}
          onConfirm={() => void deleteSelected()}
          onCancel={() => setDeletingRecords(null)}
        >
          <p>The chosen records are removed from &quot;{info.name}&quot; for good. This cannot be undone, except by restoring a backup made before now.</p>
        </ConfirmDialog>
      ) : null}

      {editing ? (
        <ConfirmDialog
          open
          title={`Change ${editing.column.name} of record ${formatCount(editing.number)}`}
          confirmLabel={saving ? 'Saving…' : 'Save value'}
          busy={saving}
          onConfirm={() => void saveEdit()}
          onCancel={() => setEditing(null)}
        >
          <label className="inline">
            New value
            <input
              value={editing.text}
              aria-invalid={editError ? true : undefined}
              aria-describedby="edit-hint edit-error"
              onChange={(e) => setEditing({ ...editing, text: e.target.value })}
              onKeyDown={(e) => {
                if (e.key === 'Enter') void saveEdit();
              }}
            />
          </label>
          <p className="muted small" id="edit-hint">
            {editing.column.name} holds {editing.column.type} values. {TYPE_HINTS[editing.column.type]}
          </p>
          <ErrorMessage error={editError} id="edit-error" />
        </ConfirmDialog>
      ) : null}

      {renaming !== null ? (
        <ConfirmDialog
          open
          title={`Rename "${info.name}"`}
          confirmLabel={saving ? 'Saving…' : 'Rename'}
          busy={saving || renaming.trim() === ''}
          onConfirm={() => void saveName()}
          onCancel={() => setRenaming(null)}
        >
          <label className="inline">
            Dataset name
            <input
              value={renaming}
              maxLength={200}
              aria-invalid={renameError ? true : undefined}
              aria-describedby="rename-error"
              onChange={(e) => setRenaming(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && renaming.trim()) void saveName();
              }}
            />
          </label>
          <ErrorMessage error={renameError} id="rename-error" />
        </ConfirmDialog>
      ) : null}

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
