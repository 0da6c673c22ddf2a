// Withdrawing a credited token balance to the linked wallet: what would be paid and to which
// address is shown first, and the wallet is asked only after the person confirms here. Used by the
// Wallet and Earnings screens, so both ask the same way.
import { useState } from 'react';
import type { ResponseOf } from '../../../common/ipc/contract.js';
import { call, messageOf } from '../ipc.js';
import { ConfirmDialog } from './ui.js';

type Plan = ResponseOf<'wallet.prepareWithdraw'>;
export type Withdrawal = ResponseOf<'wallet.confirmWithdraw'>;

export function WithdrawButton(props: {
  token: string;
  symbol: string;
  disabled?: boolean;
  onDone: (sent: Withdrawal) => void;
  onError: (message: string) => void;
}) {
  const [plan, setPlan] = useState<Plan | null>(null);
  const [busy, setBusy] = useState(false);

  const prepare = async () => {
    setBusy(true);
    try {
      setPlan(await call('wallet.prepareWithdraw', { token: props.token }));
    } catch (e) {
      props.onError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async () => {
    if (!plan) return;
    setBusy(true);
    try {
      props.onDone(await call('wallet.confirmWithdraw', { planId: plan.id }));
    } catch (e) {
      // Nothing was paid: the credit stays on-chain and can be withdrawn again.
      props.onError(messageOf(e));
    } finally {
      setPlan(null);
      setBusy(false);
    }
  };

  return (
    <>
      <button type="button" disabled={busy || props.disabled} onClick={() => void prepare()}>
        Withdraw {props.symbol}
      </button>
      <ConfirmDialog
        open={plan !== null}
        title="Withdraw to your wallet?"
        confirmLabel={busy ? 'Waiting for your wallet…' : 'Ask my wallet to send'}
        busy={busy}
        onCancel={() => setPlan(null)}
        onConfirm={() => void confirm()}
      >
        {plan ? (
          <>
            <p>
              <strong>{plan.amountText}</strong> will be sent to <span className="wallet-text">{plan.to}</span>.
            </p>
            <p>Your wallet will ask you to approve a transaction to the rewards contract. It costs a little gas, paid by that address.</p>
            <details>
              <summary>Technical details</summary>
              <p className="wallet-text">
                withdraw({plan.token}) on {plan.contract}
              </p>
            </details>
          </>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
