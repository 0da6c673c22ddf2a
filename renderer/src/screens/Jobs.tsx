// The jobs researchers have published: those this device takes part in (with what each earned
// this person so far), those open to join, a word about any that were held back, what to do when
// the chain cannot be reached, and when Trove may do job work.
import { useEffect, useState } from 'react';
import type { EarningRowValue, JobCardValue, JobsViewValue, RunPolicyValue } from '../../../common/ipc/contract.js';
import { earnedByJob } from '../earnings.js';
import { EarnedSentence } from '../components/Earned.js';
import { call, messageOf } from '../ipc.js';
import { useApp, useJobs } from '../store.js';
import { ErrorMessage, ScreenTitle, PathText } from '../components/ui.js';
import { formatCount, formatDate } from '../format.js';
import { formatTokenAmount } from '../../../common/tokens.js';
import { canJoin, isJoined, roundNumber, shareOf, stateLabel, STEP_LABELS, waitingInWords } from '../jobs.js';

export function JobsScreen() {
  const view = useJobs((s) => s.view);
  const error = useJobs((s) => s.error);
  const busy = useJobs((s) => s.busy);
  const load = useJobs((s) => s.load);
  const refresh = useJobs((s) => s.refresh);

  useEffect(() => {
    void load();
  }, [load]);

  // What each joined job earned: the person's own shares, from the Earnings view's rows.
  const [earnings, setEarnings] = useState<EarningRowValue[]>([]);
  useEffect(() => {
    const read = () => call('rewards.view', {}).then((v) => setEarnings(v.rows), () => setEarnings([]));
    void read();
    return window.trove.on('rewards.changed', () => void read());
  }, []);

  const now = Date.now();
  const mine = view?.jobs.filter((j) => isJoined(j.participation.state)) ?? [];
  const open = view?.jobs.filter((j) => !isJoined(j.participation.state) && canJoin(j, now)) ?? [];
  // On offer, but not to this person (over their privacy budget, or past the deadline): listed apart, with the reason.
  const closed = view?.jobs.filter((j) => !isJoined(j.participation.state) && !canJoin(j, now)) ?? [];

  return (
    <>
      <ScreenTitle sub="Researchers publish jobs that learn from many people's data without seeing anyone's. Nothing runs unless you join, and your records never leave this computer.">
        Jobs
      </ScreenTitle>
      <div className="toolbar">
        <button type="button" onClick={() => void refresh()} disabled={busy}>
          {busy ? 'Checking…' : 'Check for new jobs'}
        </button>
      </div>
      {error ? (
        <div className="panel error-panel" role="alert">
          <p>Trove could not load the jobs. {error}</p>
          <button type="button" onClick={() => void refresh()} disabled={busy}>
            Try again
          </button>
        </div>
      ) : null}
      {view && !view.chain.reachable ? <ChainProblem chain={view.chain} busy={busy} onRetry={() => void refresh()} /> : null}
      {view && view.hidden.length > 0 ? <HiddenJobs hidden={view.hidden} /> : null}
      {!view && !error ? <p className="muted">Loading jobs…</p> : null}

      {mine.length > 0 ? (
        <section className="job-group" aria-labelledby="mine-title">
          <h2 id="mine-title">Jobs you joined</h2>
          <JobList jobs={mine} label="Jobs you joined" earnings={earnings} />
        </section>
      ) : null}
      {view ? (
        <section className="job-group" aria-labelledby="open-title">
          <h2 id="open-title">Open to join</h2>
          {open.length > 0 ? (
            <JobList jobs={open} label="Jobs open to join" />
          ) : (
            <div className="panel empty">
              <p>{view.chain.reachable ? 'No jobs are open right now. Trove checks again from time to time, or you can check now.' : 'Jobs will show here once Trove can reach the job network.'}</p>
            </div>
          )}
        </section>
      ) : null}
      {closed.length > 0 ? (
        <section className="job-group" aria-labelledby="closed-title">
          <h2 id="closed-title">Jobs you cannot join</h2>
          <JobList jobs={closed} label="Jobs you cannot join" />
        </section>
      ) : null}
      {view ? <RunPolicySetting view={view} /> : null}
    </>
  );
}

function JobList({ jobs, label, earnings = [] }: { jobs: JobCardValue[]; label: string; earnings?: EarningRowValue[] }) {
  const go = useApp((s) => s.go);
  return (
    <ul className="cards jobs" aria-label={label}>
      {jobs.map((j) => {
        const round = j.participation.round;
        return (
          <li key={j.jobId} className="card job-card">
            <h3>
              <button type="button" className="link card-link" onClick={() => go({ screen: 'job', id: j.jobId })}>
                {j.title}
              </button>
            </h3>
            <p className="muted small">From {j.researcher.name}</p>
            <p>
              <span className={`state state-${!isJoined(j.participation.state) && !canJoin(j, Date.now()) ? 'blocked' : j.participation.state}`}>{stateLabel(j, Date.now())}</span>
              {round && isJoined(j.participation.state) ? (
                <span className="small">
                  {' '}
                  · Round {formatCount(roundNumber(round.round))} of {formatCount(j.rounds)}: {STEP_LABELS[round.step].toLowerCase()}
                </span>
              ) : null}
            </p>
            {j.participation.waiting && j.participation.state === 'waiting' ? <p className="small">{waitingInWords(j.participation.waiting, Date.now())}</p> : null}
            {j.participation.problem ? <p className="warning small">{j.participation.problem.message}</p> : null}
            <CardEarned rows={earnings} jobId={j.jobId} />
            <p className="small">
              Reads {j.columns.length} {j.columns.length === 1 ? 'column' : 'columns'} · {formatCount(j.rounds)} {j.rounds === 1 ? 'round' : 'rounds'} ·{' '}
              {/* the person's share, not the round's whole reward: it is split among everyone included */}
              up to {formatTokenAmount(shareOf(j.reward.perRound, j.minContributors), j.reward.decimals, j.reward.symbol)} per round for you
            </p>
            <p className="muted small">Open until {formatDate(j.deadline)}</p>
          </li>
        );
      })}
    </ul>
  );
}

/** What this job earned the person so far, on its card: their shares, not the rounds' rewards. */
function CardEarned({ rows, jobId }: { rows: EarningRowValue[]; jobId: string }) {
  const earned = earnedByJob(rows, jobId);
  return earned.length === 0 ? null : <EarnedSentence earned={earned} onPage={false} />;
}

function ChainProblem({ chain, busy, onRetry }: { chain: JobsViewValue['chain']; busy: boolean; onRetry: () => void }) {
  return (
    <div className="panel error-panel" role="alert">
      <h2>Trove cannot reach the job network</h2>
      <p>Jobs and their rewards are published on a blockchain, and the service Trove reads it through did not answer.</p>
      <p>Check that this computer is online, then try again. Your data is not affected.</p>
      <details className="details">
        <summary>Details</summary>
        <p className="small">
          Address: <PathText path={chain.rpcUrl} />
        </p>
        {chain.problem ? <p className="small">What went wrong: {chain.problem}</p> : null}
      </details>
      <button type="button" onClick={onRetry} disabled={busy}>
        {busy ? 'Trying…' : 'Retry'}
      </button>
    </div>
  );
}

function HiddenJobs({ hidden }: { hidden: JobsViewValue['hidden'] }) {
  const n = hidden.length;
  return (
    <details className="panel hidden-jobs">
      <summary>
        {n === 1 ? '1 job was' : `${formatCount(n)} jobs were`} not shown because {n === 1 ? 'its' : 'their'} details did not match what was published
      </summary>
      <p className="muted small">Trove checks each job's description against the fingerprint its researcher published. These did not match, so they could have been changed on the way to you.</p>
      <ul>
        {hidden.map((h) => (
          <li key={h.jobId}>
            {h.reason} <span className="muted small">(job number {h.jobId} on the blockchain)</span>
          </li>
        ))}
      </ul>
    </details>
  );
}

const POLICIES: { value: RunPolicyValue; label: string; needs: ('power' | 'idle')[] }[] = [
  { value: 'always', label: 'Whenever Trove is open', needs: [] },
  { value: 'on-power', label: 'Only when this computer is plugged in', needs: ['power'] },
  { value: 'when-idle', label: 'Only when I am not using this computer', needs: ['idle'] },
  { value: 'on-power-and-idle', label: 'Only when it is plugged in and I am not using it', needs: ['power', 'idle'] },
];

function RunPolicySetting({ view }: { view: JobsViewValue }) {
  const setRunPolicy = useJobs((s) => s.setRunPolicy);
  const [error, setError] = useState<string | null>(null);
  // The choice shows at once; the main side's answer confirms it, or it goes back with the reason.
  const [pending, setPending] = useState<RunPolicyValue | null>(null);
  const chosen = pending ?? view.runPolicy;
  const reports = view.platformReports;
  const unknown = [!reports.power ? 'whether it is plugged in' : null, !reports.idle ? 'whether you are using it' : null].filter(Boolean);

  const change = async (policy: RunPolicyValue) => {
    setError(null);
    setPending(policy);
    try {
      await setRunPolicy(policy);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setPending(null);
    }
  };

  return (
    <section className="panel" aria-labelledby="policy-title">
      <h2 id="policy-title">When may Trove work on jobs?</h2>
      <p className="muted">Work on a round uses this computer's processor for a while. Jobs you joined wait until this allows it.</p>
      <fieldset className="policy">
        <legend>Work on jobs</legend>
        {POLICIES.map((p) => {
          const unsupported = p.needs.some((n) => !reports[n]);
          return (
            <label key={p.value} className="check">
              <input type="radio" name="run-policy" checked={chosen === p.value} disabled={unsupported && chosen !== p.value} onChange={() => void change(p.value)} />
              <span>
                {p.label}
                {unsupported ? <span className="muted small"> (this computer does not tell Trove)</span> : null}
              </span>
            </label>
          );
        })}
      </fieldset>
      {unknown.length > 0 ? (
        <p className="muted small">
          This computer does not tell Trove {unknown.join(' or ')}, so the choices that wait for that cannot be used here.
        </p>
      ) : null}
      <ErrorMessage error={error} />
    </section>
  );
}
