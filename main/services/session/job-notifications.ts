// The notifications people expect from jobs, decided from the cards the jobs service already
// builds: a new job that fits their data, a round that needs them, a job that finished or stopped.
// Only changes notify: the jobs already there when the vault is unlocked are not news.
import type { JobCardValue } from '../../../common/ipc/contract.js';

export interface JobNotice {
  title: string;
  body: string;
}

/** Whether one of the person's datasets has every column the job reads (by name, any case). */
export function fitsSomeDataset(card: JobCardValue, datasets: readonly (readonly string[])[]): boolean {
  const wanted = card.columns.map((c) => c.name.toLowerCase());
  return datasets.some((columns) => {
    const have = new Set(columns.map((c) => c.toLowerCase()));
    return wanted.every((w) => have.has(w));
  });
}

/** What to tell the person about a change of a job's card, or null when it is not news. */
export function jobNotice(previous: JobCardValue | undefined, next: JobCardValue, datasets: readonly (readonly string[])[]): JobNotice | null {
  const title = `"${next.title}"`;
  if (!previous) {
    if (next.participation.state !== 'available' || !next.privacy.fits || !fitsSomeDataset(next, datasets)) return null;
    return { title: 'A new job fits your data', body: `${title} asks for columns you have. Open Trove to read what it would use before you decide.` };
  }
  const was = previous.participation.state;
  const now = next.participation.state;
  if (was === now) return null;
  switch (now) {
    case 'paused':
      return { title: `${title} is waiting for you`, body: next.participation.problem?.message ?? 'A round needs this computer: open Trove to see why it is waiting.' };
    case 'failed':
      return { title: `${title} stopped`, body: next.participation.problem?.message ?? 'Open Trove to see what went wrong.' };
    case 'finished': {
      const n = next.participation.roundsContributed;
      return { title: `${title} finished`, body: `Your computer contributed to ${n} ${n === 1 ? 'round' : 'rounds'}. Thank you.` };
    }
    default:
      return null;
  }
}

/** Remembers the last card of each job and passes on what is news. */
export class JobNotifier {
  private readonly cards = new Map<string, JobCardValue>();
  private primed = false;

  constructor(
    private readonly notify: (notice: JobNotice) => void,
    private readonly datasets: () => readonly (readonly string[])[],
  ) {}

  /**
   * A list of cards. `discovered`: it comes from reading the chain afresh; the first such list
   * after unlock is what was already there, and only later ones can hold news.
   */
  sawList(cards: readonly JobCardValue[], discovered: boolean): void {
    for (const card of cards) this.saw(card, this.primed);
    if (discovered) this.primed = true;
  }

  /** One card changed. Before the first list, nothing is news yet. */
  sawCard(card: JobCardValue): void {
    this.saw(card, this.primed);
  }

  private saw(card: JobCardValue, announce: boolean): void {
    const previous = this.cards.get(card.jobId);
    this.cards.set(card.jobId, card);
    if (!announce) return;
    const notice = jobNotice(previous, card, previous ? [] : this.datasets());
    if (notice) this.notify(notice);
  }
}
