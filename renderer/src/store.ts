// App-wide state: what the vault is doing, which screen is showing, and the theme. Secrets never
// live here: passphrases stay in the form that asks for them and are cleared once sent.
import { create } from 'zustand';
import type { AppStatusValue, JobCardValue, JobsViewValue, ResultReviewValue, RunPolicyValue } from '../../common/ipc/contract.js';
import { call, messageOf } from './ipc.js';

export type Route =
  | { screen: 'data' }
  | { screen: 'import' }
  | { screen: 'dataset'; id: string }
  | { screen: 'activity' }
  | { screen: 'settings' }
  | { screen: 'jobs' }
  | { screen: 'job'; id: string }
  | { screen: 'earnings' }
  | { screen: 'wallet' };

export type Theme = 'system' | 'light' | 'dark';

export interface Notice {
  id: number;
  tone: 'info' | 'success' | 'error';
  text: string;
}

interface AppState {
  status: AppStatusValue | null;
  route: Route;
  theme: Theme;
  notices: Notice[];
  /** Why the vault last locked, to explain it on the unlock screen. */
  lockReason: 'manual' | 'idle' | null;
  setStatus(status: AppStatusValue, reason?: string): void;
  go(route: Route): void;
  setTheme(theme: Theme): void;
  notify(tone: Notice['tone'], text: string): void;
  dismiss(id: number): void;
}

let nextNotice = 1;

function savedTheme(): Theme {
  try {
    const t = localStorage.getItem('trove.theme');
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

export const useApp = create<AppState>((set) => ({
  status: null,
  route: { screen: 'data' },
  theme: savedTheme(),
  notices: [],
  lockReason: null,
  setStatus: (status, reason) =>
    set((s) => ({
      status,
      lockReason: status.vault === 'locked' ? (reason === 'idle' ? 'idle' : reason === 'manual' ? 'manual' : s.lockReason) : null,
      // Whatever was on screen belongs to the unlocked vault: start again from Data next time.
      route: status.vault === 'unlocked' ? s.route : { screen: 'data' },
    })),
  go: (route) => set({ route }),
  setTheme: (theme) => {
    try {
      localStorage.setItem('trove.theme', theme);
    } catch {
      // storage may be unavailable; the choice still applies to this session
    }
    set({ theme });
  },
  notify: (tone, text) => {
    const id = nextNotice++;
    // At most two at once: a pile of notices covers the controls it talks about.
    set((s) => ({ notices: [...s.notices.slice(-1), { id, tone, text }] }));
    if (tone !== 'error') setTimeout(() => useApp.getState().dismiss(id), 6000);
  },
  dismiss: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
}));

interface JobsState {
  view: JobsViewValue | null;
  /** Why the last read failed, in words; the last good view stays on screen. */
  error: string | null;
  busy: boolean;
  load(): Promise<void>;
  /** Reads the chain again (the Retry after it was unreachable). */
  refresh(): Promise<void>;
  /** A card the main side sent (jobs.changed) or answered with: replaces the one with its id. */
  upsert(job: JobCardValue): void;
  /** Throws on failure, so the setting can say why next to itself. */
  setRunPolicy(policy: RunPolicyValue): Promise<void>;
  clear(): void;
}

export const useJobs = create<JobsState>((set, get) => {
  const read = async (channel: 'jobs.list' | 'jobs.refresh') => {
    set({ busy: true });
    try {
      const view = await call(channel, {});
      set({ view, error: null, busy: false });
    } catch (err) {
      set({ error: messageOf(err), busy: false });
    }
  };
  return {
    view: null,
    error: null,
    busy: false,
    load: () => read('jobs.list'),
    refresh: () => read('jobs.refresh'),
    setRunPolicy: async (policy) => {
      set({ view: await call('jobs.setRunPolicy', { policy }) });
    },
    upsert: (job) => {
      const view = get().view;
      // Before the first list arrives there is nothing to merge into; the list will include it.
      if (!view) return;
      const known = view.jobs.some((j) => j.jobId === job.jobId);
      set({ view: { ...view, jobs: known ? view.jobs.map((j) => (j.jobId === job.jobId ? job : j)) : [...view.jobs, job] } });
    },
    clear: () => set({ view: null, error: null, busy: false }),
  };
});

interface ReviewsState {
  /** Analytics results waiting for the person to send or decline, oldest first. */
  reviews: ResultReviewValue[];
  load(): Promise<void>;
  /** The main side's list (the jobs.reviews event, or an answer's reply). */
  set(reviews: ResultReviewValue[]): void;
  /** Sends or declines one result; throws with the reason (its round may have ended meanwhile). */
  answer(id: string, send: boolean): Promise<void>;
  clear(): void;
}

export const useReviews = create<ReviewsState>((set) => ({
  reviews: [],
  load: async () => {
    try {
      set({ reviews: (await call('jobs.reviews', {})).reviews });
    } catch {
      // no jobs set up, or locked meanwhile: nothing waits
    }
  },
  set: (reviews) => set({ reviews }),
  answer: async (id, send) => {
    try {
      set({ reviews: (await call('jobs.answerReview', { id, send })).reviews });
    } catch (err) {
      // Gone meanwhile (its round ended): drop it here too, and say so.
      set((s) => ({ reviews: s.reviews.filter((r) => r.id !== id) }));
      throw err;
    }
  },
  clear: () => set({ reviews: [] }),
}));
