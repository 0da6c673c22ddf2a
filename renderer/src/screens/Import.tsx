// The import wizard: choose a file, check the preview and each column's type, import with a
// progress bar (and a way to cancel), then read the report of what was kept and what was not.
import { useEffect, useRef, useState } from 'react';
import { COLUMN_TYPES, type ColumnType, type ImportPreview, type ImportReport, type RejectedRow } from '../../../common/dataset.js';
import { toCsv } from '../../../common/csv-writer.js';
import { saveFile } from '../download.js';
import type { StagedFileValue } from '../../../common/ipc/api.js';
import { AppError, call, messageOf } from '../ipc.js';
import { useApp } from '../store.js';
import { ErrorMessage, FilePicker, Progress, ScreenTitle } from '../components/ui.js';
import { formatBytes, formatCell, formatCount, TYPE_LABELS } from '../format.js';

type Step =
  | { step: 'choose' }
  | { step: 'preview'; file: StagedFileValue; preview: ImportPreview }
  | { step: 'importing'; file: StagedFileValue; importId: string }
  | { step: 'done'; report: ImportReport; name: string; importId: string }
  | { step: 'rejected'; file: StagedFileValue; preview: ImportPreview; report: ImportReport | null; message: string; importId: string };

interface ColumnChoice {
  name: string;
  type: ColumnType;
  skip: boolean;
}

export function ImportWizard() {
  const go = useApp((s) => s.go);
  const notify = useApp((s) => s.notify);
  const [state, setState] = useState<Step>({ step: 'choose' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [columns, setColumns] = useState<ColumnChoice[]>([]);
  const [policy, setPolicy] = useState<'skip-rows' | 'reject-import'>('skip-rows');
  const [progress, setProgress] = useState<{ bytesRead: number; totalBytes: number | null; rowsRead: number; rowsRejected: number } | null>(null);
  const staged = useRef<string | null>(null);

  // A file handed over but not imported is removed when the wizard closes.
  useEffect(
    () => () => {
      if (staged.current) void call('files.discard', { token: staged.current }).catch(() => undefined);
    },
    [],
  );

  const choose = async (file: File) => {
    setBusy(true);
    setError(null);
    try {
      const result = await window.trove.stageFile(file);
      if (!result.ok) throw new AppError(result.error);
      staged.current = result.value.token;
      const preview = await call('import.preview', { file: result.value.token });
      setName(result.value.name.replace(/\.[^.]+$/, ''));
      setColumns(preview.columns.map((c) => ({ name: c.name, type: c.type, skip: false })));
      setState({ step: 'preview', file: result.value, preview });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const start = async (file: StagedFileValue, preview: ImportPreview, usePolicy = policy) => {
    const importId = crypto.randomUUID();
    setError(null);
    setProgress(null);
    setState({ step: 'importing', file, importId });
    const off = window.trove.on('import.progress', (p) => {
      if (p.importId === importId) setProgress(p);
    });
    try {
      const report = await call('import.start', {
        importId,
        file: file.token,
        name,
        policy: usePolicy,
        columns: columns.map((c, i) => ({
          ...(c.skip ? { skip: true } : {}),
          ...(c.type !== preview.columns[i]?.type ? { type: c.type } : {}),
          ...(c.name !== preview.columns[i]?.name ? { name: c.name } : {}),
        })),
      });
      staged.current = null;
      // The report on this page says what was imported; a notice would only repeat it.
      setState({ step: 'done', report, name: name || file.name, importId });
    } catch (err) {
      if (err instanceof AppError && err.code === 'CANCELLED') {
        setState({ step: 'preview', file, preview });
        notify('info', 'Import cancelled. Nothing was added to the vault.');
      } else if (err instanceof AppError && err.code === 'IMPORT_REJECTED') {
        const report = (err.details?.report as ImportReport | undefined) ?? null;
        setState({ step: 'rejected', file, preview, report, message: err.message, importId });
      } else {
        setState({ step: 'preview', file, preview });
        setError(messageOf(err));
      }
    } finally {
      off();
    }
  };

  const cancel = async (importId: string) => {
    await call('import.cancel', { importId }).catch(() => undefined);
  };

  return (
    <>
      <ScreenTitle sub="Nothing is stored until you confirm, and an import either completes or adds nothing.">Import a file</ScreenTitle>
      <ol className="steps" aria-label="Import steps">
        {['Choose a file', 'Check columns', 'Import', 'Report'].map((label, i) => {
          const at = { choose: 0, preview: 1, importing: 2, done: 3, rejected: 3 }[state.step];
          return (
            <li key={label} className={i === at ? 'current' : i < at ? 'done' : ''} aria-current={i === at ? 'step' : undefined}>
              {label}
            </li>
          );
        })}
      </ol>
      <ErrorMessage error={error} />

      {state.step === 'choose' ? (
        <div className="panel">
          <FilePicker label={busy ? 'Reading file…' : 'Choose a file'} accept=".csv,.tsv,.txt,.json,.jsonl,.ndjson" onFile={(f) => void choose(f)} disabled={busy} testId="import-file" hint="Drop a CSV, JSON or JSON Lines file here, or" />
          <div className="actions">
            <button type="button" onClick={() => go({ screen: 'data' })}>
              Back to data
            </button>
          </div>
        </div>
      ) : null}

      {state.step === 'preview' ? (
        <PreviewStep
          file={state.file}
          preview={state.preview}
          name={name}
          setName={setName}
          columns={columns}
          setColumns={setColumns}
          policy={policy}
          setPolicy={setPolicy}
          onImport={() => void start(state.file, state.preview)}
          onBack={() => {
            if (staged.current) void call('files.discard', { token: staged.current }).catch(() => undefined);
            staged.current = null;
            setState({ step: 'choose' });
          }}
        />
      ) : null}

      {state.step === 'importing' ? (
        <div className="panel" aria-live="polite">
          <h2>Importing {state.file.name}</h2>
          <Progress
            value={progress?.bytesRead ?? 0}
            max={progress?.totalBytes ?? state.file.size}
            label={
              progress
                ? `${formatBytes(progress.bytesRead)} of ${formatBytes(progress.totalBytes ?? state.file.size)} read · ${formatCount(progress.rowsRead)} rows · ${formatCount(progress.rowsRejected)} with problems`
                : 'Starting…'
            }
          />
          <div className="actions">
            <button type="button" onClick={() => void cancel(state.importId)}>
              Cancel import
            </button>
          </div>
        </div>
      ) : null}

      {state.step === 'done' ? <ReportView report={state.report} title={`Imported "${state.name}"`} importId={state.importId} fileName={state.name} /> : null}
      {state.step === 'done' ? (
        <div className="actions">
          {state.report.datasetId ? (
            <button type="button" className="primary" onClick={() => go({ screen: 'dataset', id: state.report.datasetId! })}>
              Open dataset
            </button>
          ) : null}
          <button type="button" onClick={() => setState({ step: 'choose' })}>
            Import another file
          </button>
        </div>
      ) : null}

      {state.step === 'rejected' ? (
        <>
          <div className="panel error-panel" role="alert">
            <h2>Nothing was imported</h2>
            <p>{state.message}</p>
          </div>
          {state.report ? <ReportView report={state.report} title="Problems found" importId={state.importId} fileName={state.file.name} /> : null}
          <div className="actions">
            {state.report && state.report.rowsRejected > 0 ? (
              <button
                type="button"
                className="primary"
                onClick={() => {
                  setPolicy('skip-rows');
                  void start(state.file, state.preview, 'skip-rows');
                }}
              >
                Import again, skipping these rows
              </button>
            ) : null}
            <button type="button" onClick={() => setState({ step: 'preview', file: state.file, preview: state.preview })}>
              Back to columns
            </button>
          </div>
        </>
      ) : null}
    </>
  );
}

function PreviewStep(props: {
  file: StagedFileValue;
  preview: ImportPreview;
  name: string;
  setName: (n: string) => void;
  columns: ColumnChoice[];
  setColumns: (c: ColumnChoice[]) => void;
  policy: 'skip-rows' | 'reject-import';
  setPolicy: (p: 'skip-rows' | 'reject-import') => void;
  onImport: () => void;
  onBack: () => void;
}) {
  const { preview, columns, setColumns } = props;
  const update = (i: number, change: Partial<ColumnChoice>) => setColumns(columns.map((c, k) => (k === i ? { ...c, ...change } : c)));
  const kept = columns.filter((c) => !c.skip).length;
  return (
    <div className="panel">
      <h2>
        {props.file.name} <span className="muted small">({formatBytes(props.file.size)}, {preview.format.toUpperCase()})</span>
      </h2>
      <label className="inline">
        Dataset name
        <input value={props.name} onChange={(e) => props.setName(e.target.value)} maxLength={200} />
      </label>

      <h3>Columns</h3>
      <p className="muted">Trove proposes the type every value fits (the import checks the whole file). Change a type if the guess is wrong; values that do not fit the type are flagged here and their rows reported as problems.</p>
      <div className="table-scroll">
        <table className="columns-table">
          <thead>
            <tr>
              <th scope="col">Import</th>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">Sample values</th>
            </tr>
          </thead>
          <tbody>
            {preview.columns.map((c, i) => (
              <tr key={i}>
                <td>
                  <input type="checkbox" checked={!columns[i]?.skip} onChange={(e) => update(i, { skip: !e.target.checked })} aria-label={`Import column ${c.name}`} />
                </td>
                <td>
                  <input value={columns[i]?.name ?? c.name} onChange={(e) => update(i, { name: e.target.value })} aria-label={`Name for column ${c.name}`} disabled={columns[i]?.skip} />
                </td>
                <td>
                  <select value={columns[i]?.type ?? c.type} onChange={(e) => update(i, { type: e.target.value as ColumnType })} aria-label={`Type of column ${c.name}`} disabled={columns[i]?.skip}>
                    {COLUMN_TYPES.map((t) => (
                      <option key={t} value={t}>
                        {TYPE_LABELS[t]}
                      </option>
                    ))}
                  </select>
                </td>
                <td className="samples">
                  {c.samples.map((s) => formatCell(s, c.type)).join(', ')}
                  {c.invalidCount > 0 && (columns[i]?.type ?? c.type) === c.type ? (
                    <span className="warning small" role="note">
                      {' '}
                      {c.invalidCount.toLocaleString('en')} {c.invalidCount === 1 ? 'value does' : 'values do'} not fit this type
                    </span>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {preview.problems.length > 0 ? (
        <p className="warning">
          {preview.problems.length} of the first rows cannot be read (first at line {preview.problems[0]!.line}: {preview.problems[0]!.reason}).
        </p>
      ) : null}

      <fieldset className="policy">
        <legend>If a row has a problem</legend>
        <label className="check">
          <input type="radio" name="policy" checked={props.policy === 'skip-rows'} onChange={() => props.setPolicy('skip-rows')} />
          Skip that row and import the rest (you get a list of what was skipped)
        </label>
        <label className="check">
          <input type="radio" name="policy" checked={props.policy === 'reject-import'} onChange={() => props.setPolicy('reject-import')} />
          Import nothing, so I can fix the file first
        </label>
      </fieldset>
      <div className="actions">
        <button type="button" className="primary" onClick={props.onImport} disabled={kept === 0}>
          Import {kept} {kept === 1 ? 'column' : 'columns'}
        </button>
        <button type="button" onClick={props.onBack}>
          Choose another file
        </button>
      </div>
    </div>
  );
}

const REJECTED_PAGE = 100;
/** Rows asked for at a time when saving the whole list. */
const REJECTED_CHUNK = 5000;

/** What an import kept and, page by page, every row it did not keep with why; the list can be saved as CSV. */
function ReportView({ report, title, importId, fileName }: { report: ImportReport; title: string; importId: string; fileName: string }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ total: number; rows: RejectedRow[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState<{ done: number; total: number } | null>(null);

  useEffect(() => {
    if (report.rowsRejected === 0) return;
    call('import.rejected', { importId, offset, limit: REJECTED_PAGE }).then(setPage, (err: unknown) => setError(messageOf(err)));
  }, [importId, offset, report.rowsRejected]);

  // The list kept for this import; the report's own first rows if it is no longer kept (after a lock).
  const rows = page?.rows ?? report.rejected.slice(offset, offset + REJECTED_PAGE);
  const total = page?.total ?? report.rejected.length;
  const last = Math.min(offset + REJECTED_PAGE, total);

  const saveList = async () => {
    setError(null);
    setSaving({ done: 0, total });
    try {
      const all: RejectedRow[] = [];
      for (let at = 0; at < total; at += REJECTED_CHUNK) {
        const chunk = await call('import.rejected', { importId, offset: at, limit: REJECTED_CHUNK });
        all.push(...chunk.rows);
        setSaving({ done: all.length, total });
      }
      const base = fileName.replace(/\.[^.]+$/, '') || 'import';
      saveFile(`${base}-rows-not-imported.csv`, toCsv([['line', 'column', 'problem'], ...all.map((r) => [r.line, r.column ?? '', r.reason])]), 'text/csv');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSaving(null);
    }
  };

  return (
    <section className="panel report" aria-labelledby="report-title">
      <h2 id="report-title">{title}</h2>
      <dl className="stats">
        {report.datasetId ? (
          <div>
            <dt>Records imported</dt>
            <dd>{formatCount(report.rowsImported)}</dd>
          </div>
        ) : null}
        <div>
          <dt>Rows with problems</dt>
          <dd>{formatCount(report.rowsRejected)}</dd>
        </div>
        <div>
          <dt>Read</dt>
          <dd>{formatBytes(report.bytesRead)}</dd>
        </div>
      </dl>
      {report.rowsRejected > 0 ? (
        <>
          <h3>Rows not imported</h3>
          <ErrorMessage error={error} />
          <div className="table-scroll">
            <table aria-label="Rows not imported">
              <thead>
                <tr>
                  <th scope="col">Line</th>
                  <th scope="col">Column</th>
                  <th scope="col">Problem</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={offset + i}>
                    <td>{r.line}</td>
                    <td>{r.column ?? '—'}</td>
                    <td>{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <button type="button" onClick={() => setOffset(Math.max(0, offset - REJECTED_PAGE))} disabled={offset === 0}>
              ← Previous
            </button>
            <span aria-live="polite">
              Problems {total === 0 ? 0 : formatCount(offset + 1)}–{formatCount(last)} of {formatCount(total)}
            </span>
            <button type="button" onClick={() => setOffset(offset + REJECTED_PAGE)} disabled={last >= total}>
              Next →
            </button>
          </div>
          {total < report.rowsRejected ? (
            <p className="muted">This list holds {formatCount(total)} of the {formatCount(report.rowsRejected)} rows with problems; import again to see the full list.</p>
          ) : null}
          <div className="actions">
            <button type="button" onClick={() => void saveList()} disabled={saving !== null || total === 0}>
              {saving ? `Saving… ${formatCount(saving.done)} of ${formatCount(saving.total)}` : 'Save this list as CSV'}
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}
