// One job: its consent card in plain words (who asks and why, what is read, what leaves, the
// privacy cost, the reward), the way to join it with one of the person's datasets, and, once
// joined, how its rounds are going and the way to leave.
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { ColumnSummary, DatasetInfo } from '../../../common/dataset.js';
import { describeExpectation, fitProblem } from '../../../common/jobs/column-fit.js';
import type { JobCardValue } from '../../../common/ipc/contract.js';
import { call, messageOf } from '../ipc.js';
import { useApp, useJobs } from '../store.js';
import { ConfirmDialog, ErrorMessage, Progress, ScreenTitle, PathText } from '../components/ui.js';
import { BudgetBar, RoundsChart } from '../components/Charts.js';
import { earnedByJob, type JobEarned } from '../earnings.js';
import { EarnedSentence } from '../components/Earned.js';
import { formatTokenAmount } from '../../../common/tokens.js';
import { formatCount, formatDate, formatNumber, TYPE_LABELS } from '../format.js';
import {
  budgetSplit,
  canJoin,
  compatibleColumns,
  formatEpsilon,
  isJoined,
  joinBlocker,
  mappedTo,
  mappingComplete,
  matchCount,
  prefillMapping,
  researcherHistory,
  roundNumber,
  ROUND_STEPS,
  ANALYTICS_ROUND_STEPS,
  shareOf,
  STATE_LABELS,
  STEP_LABELS,
  waitingInWords,
  type JobColumn,
} from '../jobs.js';

export function JobScreen({ id }: { id: string }) {
  const go = useApp((s) => s.go);
  const view = useJobs((s) => s.view);
  const error = useJobs((s) => s.error);
  const load = useJobs((s) => s.load);
  const [datasets, setDatasets] = useState<DatasetInfo[] | null>(null);
  const [datasetError, setDatasetError] = useState<string | null>(null);

  useEffect(() => {
    if (!view) void load();
  }, [view, load]);
  useEffect(() => {
    call('datasets.list', {}).then(setDatasets, (err: unknown) => setDatasetError(messageOf(err)));
  }, []);

  const job = view?.jobs.find((j) => j.jobId === id);
  const joinedNow = job ? isJoined(job.participation.state) : null;
  // Joining or leaving replaces the form that had focus: move focus to what took its place.
  const wasJoined = useRef(joinedNow);
  useEffect(() => {
    if (wasJoined.current !== null && joinedNow !== null && wasJoined.current !== joinedNow) {
      document.getElementById(joinedNow ? 'part-title' : 'join-title')?.focus();
    }
    wasJoined.current = joinedNow;
  }, [joinedNow]);
  const back = (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <button type="button" className="link" onClick={() => go({ screen: 'jobs' })}>
        Jobs
      </button>
      {job ? ` / ${job.title}` : null}
    </nav>
  );

  if (!job) {
    return (
      <>
        {back}
        <ScreenTitle>Job</ScreenTitle>
        <ErrorMessage error={error} />
        {view ? <p>This job is no longer listed. It may have been withdrawn by its researcher.</p> : !error ? <p className="muted">Loading…</p> : null}
      </>
    );
  }

  const joined = isJoined(job.participation.state);
  return (
    <>
      {back}
      <ScreenTitle sub={`Asked by ${job.researcher.name}`}>{job.title}</ScreenTitle>
      {joined ? <Participation job={job} datasets={datasets} /> : null}
      <ConsentCard job={job} />
      <ErrorMessage error={datasetError} />
      {canJoin(job, Date.now()) && datasets ? <JoinForm job={job} datasets={datasets} /> : null}
      {!joined && !canJoin(job, Date.now()) ? <CannotJoin job={job} /> : null}
    </>
  );
}

/** In place of the join form, when the job is on offer but not to this person: why, and what they can do. */
function CannotJoin({ job }: { job: JobCardValue }) {
  const go = useApp((s) => s.go);
  const overBudget = job.deadline > Date.now() && joinBlocker(job, Date.now()) !== null;
  return (
    <section className="panel cannot-join" aria-labelledby="join-title" data-testid="cannot-join">
      <h2 id="join-title" tabIndex={-1}>
        You cannot join this job
      </h2>
      {overBudget ? (
        <>
          <p>
            It would use more of your privacy budget than you have left: {formatEpsilon(budgetSplit(job.privacy).jobEpsilon)}, with{' '}
            {formatEpsilon(Math.max(job.privacy.budget.epsilon - job.privacy.spentEpsilon, 0))} left of {formatEpsilon(job.privacy.budget.epsilon)}. Trove keeps
            to the budget so that the combined results of all your jobs cannot reveal much about you.
          </p>
          <p>What you can do: look for a job with a lower privacy cost. Your budget does not renew by itself.</p>
          <button type="button" onClick={() => go({ screen: 'jobs' })}>
            See other jobs
          </button>
        </>
      ) : (
        <p>Its deadline, {formatDate(job.deadline)}, has passed, so it takes no one new.</p>
      )}
    </section>
  );
}

// ------------------------------------------------------------------------------ consent card

function ConsentCard({ job }: { job: JobCardValue }) {
  const others = Math.max(job.minContributors - 1, 1);
  return (
    <article className="consent" aria-label="What this job asks of you">
      {job.warnings.length > 0 ? (
        <section className="panel warnings" aria-labelledby="warnings-title" data-testid="job-warnings">
          <h2 id="warnings-title">Check before you join</h2>
          <ul>
            {job.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </section>
      ) : null}
      <section className="panel" aria-labelledby="why-title">
        <h2 id="why-title">Who is asking, and why</h2>
        <p className="purpose">{job.purpose}</p>
        <p className="small">
          <strong>{job.researcher.name}</strong>
        </p>
        <p className="small muted" data-testid="researcher-identity">
          {job.researcher.attestedName !== null
            ? `Trove's signed list of known researchers names this account ${job.researcher.attestedName}.`
            : "This account is not on Trove's signed list of known researchers: the name above is the researcher's own."}
        </p>
        {job.researcher.history ? (
          <p className="small muted" data-testid="researcher-history">
            {researcherHistory(job.researcher.history)}
          </p>
        ) : null}
      </section>

      <section className="panel" aria-labelledby="reads-title">
        <h2 id="reads-title">What Trove reads</h2>
        <p>
          Only {job.columns.length === 1 ? 'this column' : `these ${job.columns.length} columns`} of the dataset you choose, and only on this computer:
        </p>
        <div className="table-scroll">
          <table className="job-columns">
            <thead>
              <tr>
                <th scope="col">Column</th>
                <th scope="col">What the researcher uses it for</th>
              </tr>
            </thead>
            <tbody>
              {job.columns.map((c) => (
                <tr key={c.name}>
                  <th scope="row">
                    <code>{c.name}</code>
                    <span className="muted small"> · {c.role === 'label' ? 'what is predicted' : c.role === 'read' ? 'what the question reads' : 'used to predict'}</span>
                  </th>
                  <td>{c.note || <span className="muted">No note given.</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p className="leaves">
          <strong>Your records never leave this computer.</strong> Each round, Trove sends only a list of {formatCount(job.vectorLength)} numbers, masked so that it
          means nothing on its own. It is combined with the lists of at least {formatCount(others)} other {others === 1 ? 'person' : 'people'} before anyone,
          the researcher included, can read the total. This holds even if the coordinator lies about who took part or sends you a different {job.analytics ? 'program' : 'model'}, as long as
          no more than 3 in 100 of the people in a round secretly work with it. The coordinator does see your computer&apos;s network address, when you ask for
          the model and when you send, how many numbers you send, and how many people took part. Trove sends your list at a random moment, talks to each job over
          its own connection, and lists every request it sends in Activity.
        </p>
      </section>

      {job.analytics ? <AnalyticsQuestion job={job} analytics={job.analytics} /> : null}

      <section className="panel" aria-labelledby="resources-title" data-testid="job-resources">
        <h2 id="resources-title">What it takes on this computer</h2>
        <p>{job.resources.summary}</p>
      </section>

      <PrivacyCost job={job} />

      <section className="panel" aria-labelledby="terms-title">
        <h2 id="terms-title">Reward and terms</h2>
        <dl className="facts">
          <div>
            <dt>Reward per round</dt>
            <dd>
              {formatTokenAmount(job.reward.perRound, job.reward.decimals, job.reward.symbol)}
              <span className="muted small">
                {' '}
                shared by everyone whose result the round includes, so up to{' '}
                {formatTokenAmount(shareOf(job.reward.perRound, job.minContributors), job.reward.decimals, job.reward.symbol)} each
              </span>
            </dd>
          </div>
          <div>
            <dt>Bond</dt>
            <dd>
              {job.reward.bond === '0' ? (
                'None'
              ) : (
                <>
                  {formatTokenAmount(job.reward.bond, job.reward.decimals, job.reward.symbol)}
                  <span className="muted small"> per round, kept by the job if you drop out in the middle of a round</span>
                </>
              )}
            </dd>
          </div>
          <div>
            <dt>Rounds</dt>
            <dd>{formatCount(job.rounds)}</dd>
          </div>
          <div>
            <dt>People needed per round</dt>
            <dd>
              At least {formatCount(job.minContributors)}
              <span className="muted small"> (a round with fewer is not combined and not paid)</span>
            </dd>
          </div>
          <div>
            <dt>Deadline</dt>
            <dd>
              <time dateTime={new Date(job.deadline).toISOString()}>{formatDate(job.deadline)}</time>
            </dd>
          </div>
          <div>
            <dt>Runs the rounds</dt>
            <dd>
              The researcher&apos;s coordinator, a server that combines the masked lists
              <span className="muted small"> (its address is under Details)</span>
            </dd>
          </div>
        </dl>
        <details className="details" data-testid="job-details">
          <summary>Details</summary>
          <dl className="facts">
            <div>
              <dt>Job number</dt>
              <dd>{job.jobId}</dd>
            </div>
            <div>
              <dt>Fingerprint of the job description, published on the blockchain</dt>
              <dd>
                <PathText path={job.specHash} />
              </dd>
            </div>
            <div>
              <dt>Researcher&apos;s account</dt>
              <dd>
                <PathText path={job.researcher.address} />
              </dd>
            </div>
            <div>
              <dt>Coordinator</dt>
              <dd>
                <PathText path={job.coordinator.url} />, account <PathText path={job.coordinator.address} />
              </dd>
            </div>
            <div>
              <dt>Privacy parameters</dt>
              <dd>
                epsilon {job.privacy.epsilon}, delta {job.privacy.delta}, noise multiplier {job.privacy.noiseMultiplier}
              </dd>
            </div>
          </dl>
        </details>
      </section>
    </article>
  );
}

/** "1 more job like it", "3 more jobs like it", "no more jobs like it". */
function moreJobsLikeIt(n: number): string {
  return n === 0 ? 'no more jobs like it' : `${formatCount(n)} more ${n === 1 ? 'job' : 'jobs'} like it`;
}

function PrivacyCost({ job }: { job: JobCardValue }) {
  const p = job.privacy;
  const s = budgetSplit(p);
  const label = s.over
    ? `This job would use ${formatEpsilon(s.jobEpsilon)} of a budget of ${formatEpsilon(p.budget.epsilon)} that has ${formatEpsilon(Math.max(p.budget.epsilon - p.spentEpsilon, 0))} left: over your budget`
    : `Spent before: ${formatEpsilon(p.spentEpsilon)}. This job: ${formatEpsilon(s.jobEpsilon)}. Left after: ${formatEpsilon(s.leftAfter)} of ${formatEpsilon(p.budget.epsilon)}`;
  return (
    <section className={`panel privacy${s.over ? ' over' : ''}`} aria-labelledby="privacy-title">
      <h2 id="privacy-title">Privacy cost</h2>
      <p className="muted">
        Each job uses part of your personal privacy budget, which Trove keeps across all jobs. The more of it is used, the more could in theory be learned about you from
        the combined results. When it is used up, Trove takes no more jobs.
      </p>
      <BudgetBar spent={s.spent} job={s.job} left={s.left} over={s.over} label={label} />
      <ul className="legend">
        <li>
          <span className="swatch budget-spent" aria-hidden="true" /> Spent by earlier jobs: {formatEpsilon(p.spentEpsilon)}
        </li>
        <li>
          <span className="swatch budget-job" aria-hidden="true" /> This job: {formatEpsilon(s.jobEpsilon)}
        </li>
        <li>
          <span className="swatch budget-left" aria-hidden="true" /> Left after it: {s.over ? 'none' : formatEpsilon(s.leftAfter)}
          {!s.over && s.jobEpsilon > 0 ? ` — after this you can join ${moreJobsLikeIt(Math.floor(s.leftAfter / s.jobEpsilon))}` : ''}
        </li>
        <li className="muted">Your budget does not renew by itself: what a job spends stays spent.</li>
        <li className="muted">Your budget: {formatEpsilon(p.budget.epsilon)}</li>
      </ul>
      {s.over ? (
        <p className="error" role="note">
          <strong>Over your budget.</strong>{' '}
          {p.problem ?? 'Taking part would use more privacy than you have left, so Trove will not join this job. Look for a job with a lower privacy cost.'}
        </p>
      ) : null}
      <p className="muted" data-testid="worst-case-privacy">
        If everyone else in the smallest group of {formatCount(job.minContributors)} were the researcher&rsquo;s own accounts, only the noise your computer adds would
        protect you, and this job would cost {formatEpsilon(p.worstCaseEpsilon)}.
      </p>
    </section>
  );
}

// ------------------------------------------------------------------------------ analytics

type AnalyticsCard = NonNullable<JobCardValue['analytics']>;

/** An analytics job's question: what it computes, every number it sends with its range, and the program that computes it. */
function AnalyticsQuestion({ job, analytics }: { job: JobCardValue; analytics: AnalyticsCard }) {
  const shown = analytics.output.length > 12 ? 6 : analytics.output.length;
  const row = (o: AnalyticsCard['output'][number], i: number) => (
    <tr key={i}>
      <th scope="row">{o.label}</th>
      <td className="num">
        {formatBound(o.min)} to {formatBound(o.max)}
      </td>
    </tr>
  );
  const head = (
    <thead>
      <tr>
        <th scope="col">Each number counts</th>
        <th scope="col">Held between</th>
      </tr>
    </thead>
  );
  return (
    <section className="panel" aria-labelledby="question-title" data-testid="analytics-question">
      <h2 id="question-title">What it computes</h2>
      <p>{analytics.computes}</p>
      <p>
        The answer from your data is a list of {formatCount(analytics.output.length)} {analytics.output.length === 1 ? 'number' : 'numbers'}. Trove checks every number
        against the range below before anything leaves; a result outside it is refused, not sent.
      </p>
      <div className="table-scroll analytics-output">
        <table>
          {head}
          <tbody>{analytics.output.slice(0, shown).map(row)}</tbody>
        </table>
      </div>
      {shown < analytics.output.length ? (
        <details className="analytics-more">
          <summary>All {formatCount(analytics.output.length)} numbers</summary>
          <div className="table-scroll analytics-output">
            <table>
              {head}
              <tbody>{analytics.output.map(row)}</tbody>
            </table>
          </div>
        </details>
      ) : null}
      {analytics.module ? <Program job={job} program={analytics.module} /> : null}
    </section>
  );
}

function formatBound(v: number): string {
  return Number.isInteger(v) ? formatCount(v) : String(Number(v.toPrecision(4)));
}

/** The researcher's program: trusted, approved by the person, or unknown with a warning and the way to approve it. */
function Program({ job, program }: { job: JobCardValue; program: NonNullable<AnalyticsCard['module']> }) {
  const upsert = useJobs((s) => s.upsert);
  const notify = useApp((s) => s.notify);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const approve = async () => {
    setBusy(true);
    setError(null);
    try {
      upsert(await call('jobs.approveModule', { jobId: job.jobId, sha256: program.sha256 }));
      notify('success', 'You approved this program. You can take it off your list in Settings.');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const fingerprint = (
    <details className="small">
      <summary>Details</summary>
      <p>
        Trove knows the program by its fingerprint (sha256) <code>{program.sha256}</code>, which the researcher signed; a program with another fingerprint never
        runs for this job.
      </p>
    </details>
  );
  if (program.trust === 'unknown') {
    return (
      <div className="program warnings panel" data-testid="program-trust" role="group" aria-labelledby="program-title">
        <h3 id="program-title">An unknown program</h3>
        <p>
          The researcher wrote their own program for this job, and it is not on Trove&apos;s list of checked programs. Trove runs it sealed off from everything
          else, with only the columns above, and checks every number it returns, but no one Trove trusts has read what it does. Run it only if you trust{' '}
          {job.researcher.name}.
        </p>
        {fingerprint}
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="button" onClick={() => setConfirming(true)}>
            Approve this program…
          </button>
        </div>
        <ConfirmDialog
          open={confirming}
          title="Approve this program?"
          confirmLabel={busy ? 'Approving…' : 'Approve program'}
          busy={busy}
          onConfirm={() => void approve()}
          onCancel={() => setConfirming(false)}
        >
          <p>Jobs may then run this exact program on this computer. Trove records your approval in Activity, and you can withdraw it in Settings.</p>
        </ConfirmDialog>
      </div>
    );
  }
  return (
    <div className="program" data-testid="program-trust">
      <h3>The researcher&apos;s program</h3>
      <p>
        {program.trust === 'trusted'
          ? `On Trove's list of checked programs${program.auditedBy.length > 0 ? `, read and approved by ${program.auditedBy.join(', ')}` : ''}.`
          : 'You approved this program yourself.'}{' '}
        It runs sealed off from everything else on this computer, with only the columns above.
      </p>
      {fingerprint}
    </div>
  );
}

// ------------------------------------------------------------------------------ joining

function JoinForm({ job, datasets }: { job: JobCardValue; datasets: DatasetInfo[] }) {
  const go = useApp((s) => s.go);
  const notify = useApp((s) => s.notify);
  const upsert = useJobs((s) => s.upsert);
  // Start from the dataset that fills the most job columns by name; none when no name matches.
  const suggested = useMemo(
    () => [...datasets].filter((d) => matchCount(job.columns, d.columns) > 0).sort((a, b) => matchCount(job.columns, b.columns) - matchCount(job.columns, a.columns))[0],
    [datasets, job.columns],
  );
  const [datasetId, setDatasetId] = useState(suggested?.id ?? '');
  const dataset = datasets.find((d) => d.id === datasetId);
  const [mapping, setMapping] = useState<Record<string, string>>(() => (suggested ? prefillMapping(job.columns, suggested.columns) : {}));
  const [summaries, setSummaries] = useState<{ datasetId: string; columns: ColumnSummary[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const over = budgetSplit(job.privacy).over;
  useEffect(() => {
    if (!datasetId) return;
    let live = true;
    call('datasets.summary', { id: datasetId }).then(
      (columns) => live && setSummaries({ datasetId, columns }),
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
  }, [datasetId]);
  const summaryOf = (name: string): ColumnSummary | undefined => (summaries?.datasetId === datasetId ? summaries.columns.find((c) => c.column === name) : undefined);
  const problemOf = (jc: JobColumn): string | null => {
    const mine = summaryOf(mappedTo(mapping, jc.name));
    return mine ? fitProblem(jc.name, jc.expects, mine) : null;
  };
  const fits = job.columns.every((jc) => problemOf(jc) === null);
  // A researcher's program no one trusted yet must be approved above first.
  const unapproved = job.analytics?.module?.trust === 'unknown';
  const complete = dataset ? mappingComplete(job.columns, dataset.columns, mapping) && fits && !unapproved : false;

  const chooseDataset = (id: string) => {
    setDatasetId(id);
    const d = datasets.find((x) => x.id === id);
    setMapping(d ? prefillMapping(job.columns, d.columns) : {});
  };

  const join = async (e: FormEvent) => {
    e.preventDefault();
    if (!dataset || !complete || over) return;
    setBusy(true);
    setError(null);
    try {
      const card = await call('jobs.optIn', { jobId: job.jobId, datasetId: dataset.id, columns: mapping });
      upsert(card);
      notify('success', `You joined "${job.title}". Trove works on it when a round starts.`);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  if (datasets.length === 0) {
    return (
      <section className="panel" aria-labelledby="join-title">
        <h2 id="join-title" tabIndex={-1}>
        Join this job
      </h2>
        <p>To join, you need a dataset with these columns. You have no data in your vault yet.</p>
        <button type="button" className="primary" onClick={() => go({ screen: 'import' })}>
          Import a file
        </button>
      </section>
    );
  }

  const others = Math.max(job.minContributors - 1, 1);
  return (
    <section className="panel" aria-labelledby="join-title">
      <h2 id="join-title" tabIndex={-1}>
        Join this job
      </h2>
      <form className="form join" onSubmit={(e) => void join(e)} aria-busy={busy}>
        <label>
          Dataset to use
          <select value={datasetId} onChange={(e) => chooseDataset(e.target.value)}>
            {suggested ? null : <option value="">Choose a dataset… (none has the job’s column names)</option>}
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({formatCount(d.rowCount)} records)
              </option>
            ))}
          </select>
        </label>
        {dataset ? (
          <fieldset className="policy mapping">
            <legend>Which of your columns stands for each column the job reads</legend>
            {job.columns.map((jc) => (
              <MappingRow
                key={jc.name}
                column={jc}
                dataset={dataset}
                value={mappedTo(mapping, jc.name)}
                mine={summaryOf(mappedTo(mapping, jc.name))}
                problem={problemOf(jc)}
                onChange={(v) => setMapping({ ...mapping, [jc.name]: v })}
              />
            ))}
          </fieldset>
        ) : null}
        {dataset ? (
          <p className="agreement" id="join-agreement">
            By joining, you agree that Trove reads {job.columns.length === 1 ? 'this column' : `these ${job.columns.length} columns`} of "{dataset.name}" on this computer
            for up to {formatCount(job.rounds)} {job.rounds === 1 ? 'round' : 'rounds'} until {formatDate(job.deadline)}, and sends only a masked list of{' '}
            {formatCount(job.vectorLength)} numbers per round to the researcher&apos;s coordinator, to be combined with at least {formatCount(others)}{' '}
            other {others === 1 ? "person's" : "people's"} before anyone reads it. It uses {formatEpsilon(budgetSplit(job.privacy).jobEpsilon)} of your privacy budget of{' '}
            {formatEpsilon(job.privacy.budget.epsilon)}.
            You can leave at any time.
          </p>
        ) : null}
        {over ? <p className="muted">You cannot join: this job would go over your privacy budget.</p> : null}
        {!over && dataset && !complete ? (
          <p className="muted">
            {unapproved
              ? 'Approve the researcher’s program above to join, or leave this job alone.'
              : fits
                ? 'Choose a column for each column the job reads to join.'
                : 'A column you chose does not look like what the job reads: choose another one to join.'}
          </p>
        ) : null}
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || over || !complete} aria-describedby="join-agreement">
            {busy ? 'Joining…' : 'Join this job'}
          </button>
        </div>
      </form>
    </section>
  );
}

function MappingRow({
  column,
  dataset,
  value,
  mine,
  problem,
  onChange,
}: {
  column: JobColumn;
  dataset: DatasetInfo;
  value: string;
  mine: ColumnSummary | undefined;
  problem: string | null;
  onChange: (v: string) => void;
}) {
  const options = compatibleColumns(column.kind, dataset.columns);
  const wants = column.kind === 'numeric' || column.kind === 'value' ? 'a number column' : 'a text, category or yes / no column';
  const expected = describeExpectation(column.expects);
  const id = `map-${column.name}`;
  return (
    <div className="mapping-row">
      <label htmlFor={id}>
        <code>{column.name}</code>
      </label>
      <span className="muted small" id={`${id}-hint`}>
        {column.note ? `${column.note}: ` : ''}
        needs {wants}
        {expected ? `, ${expected}` : ''}
      </span>
      {value && mine ? (
        <span className="small mapping-values" id={`${id}-values`}>
          Your values: {valuesInWords(mine)}
        </span>
      ) : null}
      {problem ? (
        <p className="error small mapping-problem" id={`${id}-problem`}>
          {problem}
        </p>
      ) : null}
      {options.length > 0 ? (
        <select
          id={id}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          aria-describedby={[`${id}-hint`, value && mine ? `${id}-values` : '', problem ? `${id}-problem` : ''].filter(Boolean).join(' ')}
          aria-invalid={problem ? true : undefined}
        >
          <option value="">Choose a column…</option>
          {options.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name} ({TYPE_LABELS[c.type].toLowerCase()})
            </option>
          ))}
        </select>
      ) : (
        <p className="warning small">
          "{dataset.name}" has no column of that kind.
        </p>
      )}
    </div>
  );
}

/** A few of the person's values of a column, from its summary: the range and average, or the commonest values. */
function valuesInWords(mine: ColumnSummary): string {
  if (mine.kind === 'categorical') return mine.top.length === 0 ? 'none yet' : mine.top.slice(0, 4).map((t) => `"${t.value}"`).join(', ');
  if (mine.min === null || mine.max === null || mine.mean === null) return 'none yet';
  return `${formatNumber(mine.min, mine.type)} to ${formatNumber(mine.max, mine.type)}, average ${formatNumber(mine.mean, mine.type === 'date' ? 'date' : 'number')}`;
}

// ------------------------------------------------------------------------------ taking part

function Participation({ job, datasets }: { job: JobCardValue; datasets: DatasetInfo[] | null }) {
  const notify = useApp((s) => s.notify);
  const upsert = useJobs((s) => s.upsert);
  const [confirming, setConfirming] = useState(false);
  const [leaving, setLeaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const p = job.participation;
  const round = p.round;
  const dataset = datasets?.find((d) => d.id === p.mapping?.datasetId);
  const steps = job.analytics ? ANALYTICS_ROUND_STEPS : ROUND_STEPS;
  const stepAt = round ? steps.indexOf(round.step) : -1;

  const leave = async () => {
    setLeaving(true);
    setError(null);
    try {
      upsert(await call('jobs.optOut', { jobId: job.jobId }));
      notify('success', `You left "${job.title}". Nothing more will be sent for it.`);
      setConfirming(false);
    } catch (err) {
      setError(messageOf(err));
      setConfirming(false);
    } finally {
      setLeaving(false);
    }
  };

  return (
    <section className="panel participation" aria-labelledby="part-title">
      <h2 id="part-title" tabIndex={-1}>
        Your part in this job
      </h2>
      <p className="status-line">
        <span className={`state state-${p.state}`}>{STATE_LABELS[p.state]}</span>
      </p>
      {p.state === 'waiting' && p.waiting ? (
        <p className="waiting" data-testid="waiting-for-round">
          {waitingInWords(p.waiting, Date.now())}
        </p>
      ) : null}
      {p.problem ? (
        <div className="error" role="alert">
          <strong>Work on this job stopped.</strong> {p.problem.message}
        </div>
      ) : null}
      {round && p.state !== 'finished' ? (
        <div className="round">
          <h3>
            Round {formatCount(roundNumber(round.round))} of {formatCount(job.rounds)}
          </h3>
          {/* Announces each new step once; the moving percentage stays with the progress bar. */}
          <p className="visually-hidden" aria-live="polite">
            Round {formatCount(roundNumber(round.round))}: {STEP_LABELS[round.step].toLowerCase()}
          </p>
          <ol className="steps round-steps" aria-label="Steps of this round">
            {steps.map((step, i) => (
              <li key={step} className={i === stepAt ? 'current' : i < stepAt ? 'done' : ''} aria-current={i === stepAt ? 'step' : undefined}>
                {STEP_LABELS[step]}
              </li>
            ))}
          </ol>
          {round.step !== 'done' ? (
            <Progress
              value={round.progress ?? 0}
              max={round.progress === null ? null : 1}
              label={`${STEP_LABELS[round.step]}${round.progress === null ? '' : `: ${Math.round(round.progress * 100)}%`}${round.detail ? `. ${round.detail}` : ''}`}
            />
          ) : round.detail ? (
            <p className="muted">{round.detail}</p>
          ) : null}
        </div>
      ) : null}
      <div className="contributed">
        <h3>Rounds you contributed to</h3>
        <RoundsChart rounds={job.rounds} contributed={p.roundsContributed} current={round && round.step !== 'done' ? round.round : null} />
        <p className="small">
          {formatCount(p.roundsContributed)} of {formatCount(job.rounds)} {job.rounds === 1 ? 'round' : 'rounds'}
        </p>
      </div>
      {p.mapping ? (
        <details className="mapping-used">
          <summary>Your data for this job{dataset ? `: "${dataset.name}"` : ''}</summary>
          <ul>
            {Object.entries(p.mapping.columns).map(([jobColumn, mine]) => (
              <li key={jobColumn}>
                <code>{jobColumn}</code> is read from your column <code>{mine}</code>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      <ErrorMessage error={error} />
      {p.state !== 'finished' ? (
        <div className="actions">
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Leave this job…
          </button>
        </div>
      ) : (
        <>
          <p className="muted">This job has finished. Thank you for taking part.</p>
          <JobEarnedSummary jobId={job.jobId} />
        </>
      )}
      <ConfirmDialog
        open={confirming}
        title={`Leave "${job.title}"?`}
        confirmLabel={leaving ? 'Leaving…' : 'Leave job'}
        danger
        busy={leaving}
        onConfirm={() => void leave()}
        onCancel={() => setConfirming(false)}
      >
        <p>Trove stops working on this job and sends nothing more for it. Rounds you already contributed to stay counted.</p>
        {job.reward.bond !== '0' && round && round.step !== 'done' && round.step !== 'waiting' ? (
          <p>A round is in progress: leaving now counts as dropping out, so its bond may be kept.</p>
        ) : null}
      </ConfirmDialog>
    </section>
  );
}

/** What the finished job earned this person: their own shares, read from the Earnings view. */
function JobEarnedSummary({ jobId }: { jobId: string }) {
  const [earned, setEarned] = useState<JobEarned[] | null>(null);
  useEffect(() => {
    const load = () => call('rewards.view', {}).then((v) => setEarned(earnedByJob(v.rows, jobId)), () => setEarned([]));
    void load();
    return window.trove.on('rewards.changed', (e) => {
      if (e.jobId === jobId) void load();
    });
  }, [jobId]);
  if (earned === null) return null;
  if (earned.length === 0) return <p className="small muted">No reward from this job yet: a round pays once it closes with you included. Earnings shows each round.</p>;
  return <EarnedSentence earned={earned} onPage />;
}
