// The activity log: every import, deletion, backup, setting change and job step (consents, rounds,
// what left this computer), newest first, with the result of checking its hash chain.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ActivityGroup } from '../../../common/activity.js';
import type { ResponseOf } from '../../../common/ipc/contract.js';

type ActivityEntry = ResponseOf<'activity.list'>['entries'][number];
type ActivityVerification = ResponseOf<'activity.verify'>;
import { call, messageOf } from '../ipc.js';
import { ErrorMessage, ScreenTitle } from '../components/ui.js';
import { formatCount, formatTime } from '../format.js';
import { describeDetails } from '../activity.js';
import { toCsv } from '../../../common/csv-writer.js';
import { saveFile } from '../download.js';

const PAGE = 50;
/** Typing settles this long before the log is searched again. */
const SEARCH_SETTLE_MS = 250;

const GROUP_LABELS: Record<ActivityGroup | 'all', string> = {
  all: 'Everything',
  vault: 'Your vault and backups',
  data: 'Your data',
  jobs: 'Jobs',
  sent: 'What left this computer',
  earnings: 'Earnings',
};

export function ActivityScreen() {
  const [entries, setEntries] = useState<ActivityEntry[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [verification, setVerification] = useState<ActivityVerification | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [group, setGroup] = useState<ActivityGroup | 'all'>('all');
  const [text, setText] = useState('');
  const [search, setSearch] = useState('');
  // Answers can come back out of order while someone types: only the latest request's counts.
  const latest = useRef(0);

  // The vault lists newest first.
  const load = useCallback(
    async (offset: number) => {
      const ticket = ++latest.current;
      try {
        const page = await call('activity.list', { offset, limit: PAGE, ...(group !== 'all' ? { group } : {}), ...(search ? { text: search } : {}) });
        if (ticket !== latest.current) return;
        setError(null);
        setTotal(page.total);
        setEntries((prev) => (offset === 0 ? page.entries : [...prev, ...page.entries]));
      } catch (err) {
        if (ticket === latest.current) setError(messageOf(err));
      }
    },
    [group, search],
  );

  useEffect(() => {
    void load(0);
  }, [load]);

  useEffect(() => {
    const t = setTimeout(() => setSearch(text.trim()), SEARCH_SETTLE_MS);
    return () => clearTimeout(t);
  }, [text]);

  useEffect(() => {
    call('activity.verify', {}).then(setVerification, (err: unknown) => setError(messageOf(err)));
  }, []);

  const filtered = group !== 'all' || search !== '';
  const [exporting, setExporting] = useState<string | null>(null);

  // The whole log (or what the filter shows), fetched page by page: it may be long.
  const exportLog = async (format: 'csv' | 'json') => {
    setExporting('Preparing the export…');
    try {
      const all: ActivityEntry[] = [];
      for (;;) {
        const page = await call('activity.list', { offset: all.length, limit: 500, ...(group !== 'all' ? { group } : {}), ...(search ? { text: search } : {}) });
        all.push(...page.entries);
        setExporting(`Preparing the export: ${formatCount(all.length)} of ${formatCount(page.total)} entries…`);
        if (page.entries.length === 0 || all.length >= page.total) break;
      }
      const day = new Date().toISOString().slice(0, 10);
      if (format === 'csv') {
        const rows = all.map((e) => [new Date(e.at).toISOString(), e.seq, e.kind, e.summary, describeDetails(e.kind, e.details).map((l) => `${l.label}: ${l.value}`).join('; ')]);
        saveFile(`trove-activity-${day}.csv`, toCsv([['time', 'number', 'kind', 'summary', 'details'], ...rows]), 'text/csv');
      } else {
        const json = all.map((e) => ({ time: new Date(e.at).toISOString(), number: e.seq, kind: e.kind, summary: e.summary, details: e.details ?? {} }));
        saveFile(`trove-activity-${day}.json`, JSON.stringify(json, null, 2), 'application/json');
      }
      setExporting(`Exported ${formatCount(all.length)} ${all.length === 1 ? 'entry' : 'entries'}.`);
    } catch (err) {
      setExporting(null);
      setError(messageOf(err));
    }
  };

  return (
    <>
      <ScreenTitle sub="A record of what happened in your vault. It is encrypted like your data, and each entry is chained to the one before, so edits and removals are detected.">
        Activity
      </ScreenTitle>
      {verification ? (
        <div className={`panel verify ${verification.ok ? 'ok' : 'bad'}`} role="status">
          {verification.ok ? (
            <p>
              <span aria-hidden="true">✔</span> <strong>Log verified.</strong> All {formatCount(verification.entries)} entries are intact and in order.
            </p>
          ) : (
            <p>
              <span aria-hidden="true">✖</span> <strong>The log failed verification.</strong> {verification.problem?.message} Restore a backup if you did not expect this.
            </p>
          )}
        </div>
      ) : (
        <p className="muted">Verifying the log…</p>
      )}
      <ErrorMessage error={error} />
      <div className="toolbar activity-filters" role="search">
        <label>
          Search
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="Words in an entry" maxLength={200} />
        </label>
        <label>
          Show
          <select value={group} onChange={(e) => setGroup(e.target.value as ActivityGroup | 'all')}>
            {Object.entries(GROUP_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <span className="export">
          <button type="button" onClick={() => void exportLog('csv')}>
            Export as CSV
          </button>
          <button type="button" onClick={() => void exportLog('json')}>
            Export as JSON
          </button>
        </span>
      </div>
      {exporting ? (
        <p className="muted" role="status" aria-live="polite">
          {exporting} The file holds your log in the clear: keep it somewhere private.
        </p>
      ) : null}
      {filtered && total !== null ? (
        <p className="muted" role="status">
          {total === 0 ? 'No entries match.' : `${formatCount(total)} ${total === 1 ? 'entry matches' : 'entries match'}.`}
        </p>
      ) : null}
      <ol className="activity" aria-label="Activity log">
        {entries.map((e) => (
          <li key={e.seq} className="activity-entry" data-kind={e.kind}>
            <time dateTime={new Date(e.at).toISOString()}>{formatTime(e.at)}</time>
            <span className="kind">{e.kind.split('.')[0]}</span>
            <span className="summary">{e.summary}</span>
            <EntryDetails kind={e.kind} details={e.details} />
          </li>
        ))}
      </ol>
      {total !== null && entries.length < total ? (
        <button type="button" onClick={() => void load(entries.length)}>
          Show older entries
        </button>
      ) : null}
    </>
  );
}

function EntryDetails({ kind, details }: { kind: string; details: ActivityEntry['details'] }) {
  const lines = describeDetails(kind, details);
  const plain = lines.filter((l) => !l.technical);
  const technical = lines.filter((l) => l.technical);
  if (lines.length === 0) return null;
  const list = (shown: typeof lines) => (
    <dl className="entry-details">
      {shown.map((l) => (
        <div key={l.label}>
          <dt>{l.label}</dt>
          <dd>{l.value}</dd>
        </div>
      ))}
    </dl>
  );
  return (
    <>
      {plain.length > 0 ? list(plain) : null}
      {technical.length > 0 ? (
        <details className="details entry-tech">
          <summary>Details</summary>
          {list(technical)}
        </details>
      ) : null}
    </>
  );
}
