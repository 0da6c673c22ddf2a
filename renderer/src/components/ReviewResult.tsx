// "Show me each result before it is sent": the oldest analytics result waiting for the person, in
// a dialog over whatever screen is showing. Each number is shown exactly, with what it counts; the
// person sends it or declines that round (nothing leaves, and Activity says so).
import { useEffect, useId, useRef, useState } from 'react';
import type { ResultReviewValue } from '../../../common/ipc/contract.js';
import { messageOf } from '../ipc.js';
import { useApp, useReviews } from '../store.js';
import { formatCount } from '../format.js';
import { ErrorMessage } from './ui.js';

export function ReviewResults() {
  const reviews = useReviews((s) => s.reviews);
  const load = useReviews((s) => s.load);
  const setReviews = useReviews((s) => s.set);
  const clear = useReviews((s) => s.clear);
  useEffect(() => {
    const off = window.trove.on('jobs.reviews', ({ reviews: next }) => setReviews(next));
    void load();
    return () => {
      off();
      clear();
    };
  }, [load, setReviews, clear]);
  const first = reviews[0];
  return first ? <ReviewDialog key={first.id} review={first} more={reviews.length - 1} /> : null;
}

function ReviewDialog({ review, more }: { review: ResultReviewValue; more: number }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const answer = useReviews((s) => s.answer);
  const notify = useApp((s) => s.notify);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  const reply = async (send: boolean) => {
    setBusy(true);
    setError(null);
    try {
      await answer(review.id, send);
      notify('success', send ? `Round ${formatCount(review.round + 1)} of "${review.title}": your result is on its way, noised and masked.` : `You declined round ${formatCount(review.round + 1)} of "${review.title}". Nothing was sent.`);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };
  return (
    // Escape is "not now": the result keeps waiting for an answer until its round ends.
    <dialog ref={ref} className="dialog review-dialog" aria-labelledby={titleId} onCancel={(e) => e.preventDefault()} data-testid="review-result">
      <h2 id={titleId}>Send this result?</h2>
      {/* Scrolls when the result is long or the window small: reachable from the keyboard too. */}
      <div className="dialog-body" tabIndex={0} role="group" aria-label="The result">
        <p>
          Round {formatCount(review.round + 1)} of <strong>{review.title}</strong> is ready. These are the exact numbers Trove computed from your data, on this
          computer:
        </p>
        <div className="table-scroll review-values">
          <table>
            <thead>
              <tr>
                <th scope="col">What it counts</th>
                <th scope="col">Your number</th>
              </tr>
            </thead>
            <tbody>
              {review.values.map((v, i) => (
                <tr key={i}>
                  <th scope="row">{v.label}</th>
                  <td className="num">{String(Number(v.value.toFixed(3)))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p className="small">{review.noise}</p>
        <p className="small muted">If you do not send it, nothing leaves this computer for this round; the job goes on with the next one.</p>
        {more > 0 ? <p className="small muted">{formatCount(more)} more waiting after this one.</p> : null}
        <ErrorMessage error={error} />
      </div>
      <div className="actions">
        <button type="button" onClick={() => void reply(false)} disabled={busy}>
          Don’t send
        </button>
        <button type="button" className="primary" onClick={() => void reply(true)} disabled={busy} autoFocus>
          Send this result
        </button>
      </div>
    </dialog>
  );
}
