// Screens for what comes next, so the navigation shows where the product is going.
import { ScreenTitle } from '../components/ui.js';

const TEXT = {
  earnings: {
    title: 'Earnings',
    body: 'Rewards for the jobs you take part in will appear here, round by round, ready to claim anonymously.',
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
