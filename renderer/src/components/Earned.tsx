// "You earned X over N rounds…": what a job earned this person, said the same way on the Jobs
// list card and on the job's own page.
import type { JobEarned } from '../earnings.js';
import { formatTokenAmount } from '../../../common/tokens.js';
import { formatCount } from '../format.js';

/** On the page the sentence also says where to claim and ends with a full stop; on a card it stays short. */
export function EarnedSentence({ earned, onPage }: { earned: readonly JobEarned[]; onPage: boolean }) {
  return (
    <p className={onPage ? undefined : 'small'} data-testid={onPage ? 'job-earned' : 'card-earned'}>
      You earned{' '}
      {earned.map((e, i) => (
        <span key={e.token}>
          {i > 0 ? ' and ' : ''}
          <strong>{formatTokenAmount(e.amount, e.decimals, e.symbol)}</strong> over {formatCount(e.rounds)} {e.rounds === 1 ? 'round' : 'rounds'}
          {e.claimed === e.rounds ? ', all claimed' : e.claimed > 0 ? ` (${formatCount(e.claimed)} claimed)` : onPage ? ', ready to claim on the Earnings screen' : ', ready to claim'}
        </span>
      ))}
      {onPage ? '.' : null}
    </p>
  );
}
