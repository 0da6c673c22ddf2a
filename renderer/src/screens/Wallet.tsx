// The Wallet screen: link a wallet by QR code (WalletConnect), see where rewards go, withdraw
// what was credited, each withdrawal confirmed here before the wallet is asked.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { create as createQr } from 'qrcode';
import type { WalletViewValue } from '../../../common/ipc/contract.js';
import { call, messageOf } from '../ipc.js';
import { ErrorMessage, ScreenTitle } from '../components/ui.js';
import { WithdrawButton } from '../components/Withdraw.js';

/** The pairing URI as an SVG QR code: drawn from the code's modules, no script or data URL. */
function PairingQr({ uri }: { uri: string }) {
  const { size, path } = useMemo(() => {
    const { modules } = createQr(uri, { errorCorrectionLevel: 'M' });
    let d = '';
    for (let row = 0; row < modules.size; row++) {
      for (let col = 0; col < modules.size; col++) if (modules.get(row, col)) d += `M${col + 4} ${row + 4}h1v1h-1z`;
    }
    return { size: modules.size + 8, path: d };
  }, [uri]);
  return (
    <svg className="qr" viewBox={`0 0 ${size} ${size}`} role="img" aria-label="QR code to link your wallet" data-testid="pairing-qr">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

export function WalletScreen() {
  const [view, setView] = useState<WalletViewValue | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  const refresh = useCallback(async () => {
    try {
      setView(await call('wallet.view', {}));
    } catch (e) {
      setError(messageOf(e));
    }
  }, []);

  useEffect(() => {
    void refresh();
    return window.trove.on('wallet.changed', () => void refresh());
  }, [refresh]);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  if (!view) return <ScreenTitle>Wallet</ScreenTitle>;
  const status = view.status;

  return (
    <>
      <ScreenTitle sub="Rewards you claim are credited on-chain; from there you withdraw them to a wallet of your own.">Wallet</ScreenTitle>
      <ErrorMessage error={error} />
      {!view.available ? (
        <div className="panel">
          <p>Linking a wallet is not set up in this build: it knows no chain to pay rewards on.</p>
        </div>
      ) : null}

      {view.available && status.state === 'unlinked' ? (
        <div className="panel">
          <h2>Link a wallet</h2>
          {status.problem ? <p className="error" role="alert">{status.problem.message}</p> : null}
          <p>
            Use a <strong>fresh address</strong> that you use for nothing else. Withdrawals are public: anyone can see that this address
            received rewards from Trove, and everything else that address has ever done. A fresh one links your rewards to nothing.
          </p>
          <div className="actions">
            <button type="button" className="primary" disabled={busy} onClick={() => void run(async () => setView(await call('wallet.link', {})))}>
              {busy ? 'Connecting to the relay…' : 'Show a QR code to link'}
            </button>
          </div>
        </div>
      ) : null}

      {status.state === 'pairing' ? (
        <div className="panel pairing">
          <h2>Scan with your wallet</h2>
          <p>Open your wallet app, choose WalletConnect, and scan this code. Then approve the link in your wallet.</p>
          <PairingQr uri={status.uri} />
          <details>
            <summary>Cannot scan? Copy the link instead</summary>
            <p className="wallet-text" data-testid="pairing-uri">
              {status.uri}
            </p>
            <button
              type="button"
              onClick={() =>
                void navigator.clipboard.writeText(status.uri).then(
                  () => setCopied(true),
                  () => setError('Copying failed: select the link and copy it by hand.'),
                )
              }
            >
              {copied ? 'Copied' : 'Copy link'}
            </button>
          </details>
          <p className="muted">Waiting for your wallet…</p>
        </div>
      ) : null}

      {status.state === 'linked' ? (
        <>
          <div className="panel">
            <h2>Linked wallet</h2>
            <p>
              Rewards are withdrawn to <span className="wallet-text" data-testid="linked-address">{status.address}</span> ({status.walletName}, chain{' '}
              {status.chainId}).
            </p>
            <details>
              <summary>What links to this address on-chain</summary>
              <p>
                Claims are anonymous: a zero-knowledge proof shows that you took part, not who you are. A withdrawal is not: it sends the
                credited tokens from the rewards contract to this address, in a public transaction paid from this address. Anyone can see
                the amount, the time and this address; they cannot see which contributor you are, unless this address is tied to you elsewhere.
              </p>
            </details>
            <div className="actions">
              <button type="button" disabled={busy} onClick={() => void run(async () => setView(await call('wallet.disconnect', {})))}>
                Disconnect
              </button>
            </div>
          </div>
          <div className="panel">
            <h2>Ready to withdraw</h2>
            {view.balancesProblem ? <p className="error">{view.balancesProblem}</p> : null}
            {done ? <p className="success" role="status">{done}</p> : null}
            {view.balances.length === 0 && !view.balancesProblem ? <p className="muted">Nothing is credited to this address yet.</p> : null}
            <ul className="plain-list">
              {view.balances.map((b) => (
                <li key={b.token} data-testid={`balance-${b.symbol}`}>
                  <strong>{b.amountText}</strong>{' '}
                  <WithdrawButton
                    token={b.token}
                    symbol={b.symbol}
                    disabled={busy || b.amount === '0'}
                    onError={setError}
                    onDone={(sent) => {
                      setError(null);
                      setDone(`Withdrew ${sent.amountText} to ${sent.to}.`);
                      void refresh();
                    }}
                  />
                </li>
              ))}
            </ul>
          </div>
        </>
      ) : null}

    </>
  );
}
