// Screens for what comes next, so the navigation shows where the product is going.
import { ScreenTitle } from '../components/ui.js';

const TEXT = {
  wallet: {
    title: 'Wallet',
    body: 'Link a wallet to receive your rewards. Claims will use zero-knowledge proofs, so a payment cannot be traced back to you.',
  },
} as const;

export function ComingScreen({ which }: { which: keyof typeof TEXT }) {
  const t = TEXT[which];
  return (
    <>
      <ScreenTitle>
        {t.title} <span className="badge">Coming</span>
      </ScreenTitle>
      <div className="panel coming">
        <p>{t.body}</p>
        <p className="muted">This part of Trove is not ready yet.</p>
      </div>
    </>
  );
}
