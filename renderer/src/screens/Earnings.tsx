// What the person earned, round by round, and where each claim stands: earned (ready to claim),
// proving on this device, waiting to be sent, with the relayer, claimed, and then what of it is
// still credited to withdraw. Totals per token use
// the symbol and decimals the token's contract states. A claim goes through a relayer: the person
// needs no ETH, and the relayer's fee is shown before they agree.
import { useCallback, useEffect, useState } from 'react';
import type { EarningRowValue, EarningsViewValue, WalletViewValue } from '../../../common/ipc/contract.js';
import { formatTokenAmount } from '../../../common/tokens.js';
import { EarningsChart } from '../components/Charts.js';
import { ErrorMessage, ScreenTitle } from '../components/ui.js';
import { WithdrawButton } from '../components/Withdraw.js';
import { formatDate } from '../format.js';
import { call, messageOf } from '../ipc.js';
import { useApp } from '../store.js';

const STATE_LABELS: Record<EarningRowValue['state'], string> = {
  earned: 'Ready to claim',
  proving: 'Making the proof on this device…',
  queued: 'Waiting to be sent',
  submitted: 'With the relayer',
  claimed: 'Claimed',
};

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function claimedOverTime(rows: EarningRowValue[], token: string): { at: number; total: number }[] {
  let total = 0;
  return rows
    .filter((r) => r.token === token && r.state === 'claimed' && r.at !== null)
    .sort((a, b) => a.at! - b.at!)
    .map((r) => ({ at: r.at!, total: (total += Number(r.amount) / 10 ** r.decimals) }));
}

/** What of a claimed round is still credited to its address, in words. */
function withdrawableText(r: EarningRowValue): string {
  if (r.state !== 'claimed' || r.withdrawable === null) return '—';
  if (r.withdrawable === '0') return 'Withdrawn';
  return formatTokenAmount(r.withdrawable, r.decimals, r.symbol);
}

export function EarningsScreen() {
  const notify = useApp((s) => s.notify);
  const [view, setView] = useState<EarningsViewValue | null>(null);
  const [wallet, setWallet] = useState<WalletViewValue | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [recipient, setRecipient] = useState('');
  const [claiming, setClaiming] = useState(false);
  const [withdrawn, setWithdrawn] = useState<string | null>(null);

  const load = useCallback(() => {
    call('rewards.view', {}).then(
      (v) => {
        setView(v);
        setError(null);
      },
      (err: unknown) => setError(messageOf(err)),
    );
  }, []);

  const loadWallet = useCallback(() => {
    call('wallet.view', {}).then(setWallet, () => setWallet(null));
  }, []);

  useEffect(() => {
    load();
    loadWallet();
    const offRewards = window.trove.on('rewards.changed', () => {
      load();
      loadWallet();
    });
    const offWallet = window.trove.on('wallet.changed', () => loadWallet());
    return () => {
      offRewards();
      offWallet();
    };
  }, [load, loadWallet]);

  // Claims pay to the linked wallet unless the person types another address.
  const linked = wallet?.status.state === 'linked' ? wallet.status.address : null;
  useEffect(() => {
    if (linked) setRecipient((r) => r || linked);
  }, [linked]);

  const earned = view?.rows.filter((r) => r.state === 'earned') ?? [];
  const validRecipient = ADDRESS.test(recipient.trim());

  const claim = async () => {
    setClaiming(true);
    setError(null);
    try {
      setView(await call('rewards.claim', { recipient: recipient.trim() }));
      notify('success', 'Your claims are queued. They are sent after a short random wait, so their timing does not point at you.');
    } catch (err) {
      setError(messageOf(err));
      load();
    } finally {
      setClaiming(false);
    }
  };

  return (
    <>
      <ScreenTitle sub="Rewards from the jobs you took part in, claimed anonymously: nothing on-chain links a payment to you or to your data.">Earnings</ScreenTitle>
      <ErrorMessage error={error} />
      {!view ? (
        <p className="muted" aria-busy="true">Reading your rewards…</p>
      ) : (
        <>
          {view.problems.map((p) => (
            <p key={p} className="warning" role="alert">
              {p}
            </p>
          ))}

          <section className="panel" aria-labelledby="totals-title">
            <h2 id="totals-title">Totals</h2>
            {withdrawn ? (
              <p className="success" role="status">
                {withdrawn}
              </p>
            ) : null}
            {!linked && view.totals.some((t) => t.withdrawable !== '0') ? (
              <p className="muted small">Link a wallet on the Wallet screen to withdraw what is credited to it.</p>
            ) : null}
            {view.totals.length === 0 ? (
              <p className="muted">Nothing earned yet. Rewards appear here once a round you took part in closes.</p>
            ) : (
              <dl className="facts">
                {view.totals.map((t) => (
                  <div key={t.token}>
                    <dt>{t.symbol}</dt>
                    <dd>
                      {formatTokenAmount(t.earned, t.decimals, t.symbol)} earned · {formatTokenAmount(t.claimed, t.decimals, t.symbol)} claimed ·{' '}
                      {formatTokenAmount(t.withdrawable, t.decimals, t.symbol)} ready to withdraw
                      {linked ? (
                        <div className="earnings-withdraw">
                        <WithdrawButton
                          token={t.token}
                          symbol={t.symbol}
                          disabled={!wallet?.balances.some((b) => b.token.toLowerCase() === t.token.toLowerCase() && b.amount !== '0')}
                          onError={setError}
                          onDone={(sent) => {
                            setError(null);
                            setWithdrawn(`Withdrew ${sent.amountText} to ${sent.to}.`);
                            load();
                            loadWallet();
                          }}
                        />
                        </div>
                      ) : null}
                      <EarningsChart points={claimedOverTime(view.rows, t.token)} label={`${t.symbol} claimed over time`} unit={t.symbol} />
                    </dd>
                  </div>
                ))}
              </dl>
            )}
          </section>

          {earned.length > 0 ? (
            <section className="panel" aria-labelledby="claim-title">
              <h2 id="claim-title">Claim {earned.length === 1 ? 'your reward' : `${earned.length} rewards`}</h2>
              <p>
                Each claim is a zero-knowledge proof made on this device: it shows you took part without saying who you are. A relayer sends it, so you need no
                ETH
                {view.relayer && earned[0]
                  ? `; it keeps ${formatTokenAmount(view.relayer.fee, earned[0].decimals, earned[0].symbol)} of each round’s share as its fee, so you receive the rest`
                  : ''}
                .
              </p>
              <details>
                <summary>Technical detail</summary>
                <p className="small">
                  A Semaphore v4 proof per round binds the address below, the relayer {view.relayer?.address ?? '(not reached yet)'} and its fee, so no one can redirect it.
                  Relayer: {view.relayer?.url ?? 'not reached yet'}.
                </p>
              </details>
              <label>
                Pay to this address{linked && recipient.trim().toLowerCase() === linked.toLowerCase() ? ' (your linked wallet)' : ''} (a fresh address keeps your payouts apart from your other
                activity)
                <input type="text" value={recipient} onChange={(e) => setRecipient(e.target.value)} placeholder="0x…" spellCheck={false} autoComplete="off" />
              </label>
              {recipient && !validRecipient ? <p className="error small">That is not an Ethereum address (0x followed by 40 hexadecimal digits).</p> : null}
              <button type="button" className="primary" disabled={!validRecipient || claiming} onClick={() => void claim()}>
                {claiming ? 'Making proofs…' : `Claim ${earned.length === 1 ? 'it' : 'them'}`}
              </button>
            </section>
          ) : null}

          <section className="panel" aria-labelledby="rounds-title">
            <h2 id="rounds-title">By job and round</h2>
            {view.rows.length === 0 ? (
              <p className="muted">No rounds yet.</p>
            ) : (
              // scrolls sideways on its own in a narrow window, so the page does not
              <div className="table-scroll" tabIndex={0} aria-label="Rounds and their claims">
              <table className="earnings">
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Round</th>
                    <th scope="col">Your share</th>
                    <th scope="col">State</th>
                    <th scope="col">Withdrawable</th>
                    <th scope="col">Paid to</th>
                  </tr>
                </thead>
                <tbody>
                  {view.rows.map((r) => (
                    <tr key={`${r.jobId}/${r.round}`} data-state={r.state}>
                      <td>{r.title}</td>
                      <td>{r.round + 1}</td>
                      <td>{formatTokenAmount(r.amount, r.decimals, r.symbol)}</td>
                      <td>
                        {STATE_LABELS[r.state]}
                        {r.at ? <span className="muted small"> · {formatDate(r.at)}</span> : null}
                        {r.problem && r.state !== 'claimed' ? <span className="warning small"> · {r.problem}</span> : null}
                      </td>
                      <td>{withdrawableText(r)}</td>
                      <td className="mono small">
                        {r.recipient ?? '—'}
                        {r.tx ? <span className="muted"> · tx {r.tx.slice(0, 10)}…</span> : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              </div>
            )}
          </section>
        </>
      )}
    </>
  );
}
