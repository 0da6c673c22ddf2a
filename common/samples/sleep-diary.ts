// Generated sleep diaries in the shape of assets/samples/sleep-diary.csv: one person's days, with
// a mood that really does follow sleep, activity, caffeine and exercise (plus the person's own
// baseline and day-to-day noise). The demo, the tests and the round benchmark use them as many
// contributors' private data, and as a researcher's validation set.
import { seededRandom } from '../random.js';

export const SLEEP_DIARY_COLUMNS = ['date', 'sleep_hours', 'bedtime', 'steps', 'resting_hr', 'mood', 'caffeine_cups', 'exercised', 'notes'] as const;
export const MOODS = ['low', 'okay', 'good', 'great'] as const;

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

export interface DiaryDay {
  date: string;
  sleep_hours: number;
  bedtime: string;
  steps: number;
  resting_hr: number;
  mood: (typeof MOODS)[number];
  caffeine_cups: number;
  exercised: 'yes' | 'no' | 'sometimes';
  notes: string;
}

/** `days` days of one person's diary (person `seed`), starting 2024-01-01. */
export function sleepDiary(seed: number, days: number): DiaryDay[] {
  const next = seededRandom(seed * 7919 + 17);
  const baseline = 0.6 * normal(next);
  const sleeper = 7 + 0.7 * normal(next);
  const walker = 7000 + 2500 * normal(next);
  const out: DiaryDay[] = [];
  const start = Date.UTC(2024, 0, 1);
  for (let d = 0; d < days; d++) {
    const sleep = Math.max(3, Math.min(11, sleeper + 1.1 * normal(next)));
    const steps = Math.max(500, Math.round(walker + 3000 * normal(next)));
    const caffeine = Math.min(6, Math.max(0, Math.round(1.5 + 1.2 * normal(next))));
    const u = next();
    const exercised = u < 0.4 ? 'yes' : u < 0.5 ? 'sometimes' : 'no';
    const hr = Math.round(62 - (exercised === 'yes' ? 3 : 0) + 4 * normal(next));
    const score =
      baseline + 1.1 * (sleep - 7) + 0.00025 * (steps - 7000) - 0.45 * (caffeine - 1.5) + (exercised === 'yes' ? 0.8 : exercised === 'sometimes' ? 0.3 : 0) + 0.6 * normal(next);
    const mood = score < -1 ? 'low' : score < 0.3 ? 'okay' : score < 1.5 ? 'good' : 'great';
    const bedMinutes = 22 * 60 + Math.round(60 * (8 - sleep) + 30 * normal(next));
    const bed = ((bedMinutes % 1440) + 1440) % 1440;
    out.push({
      date: new Date(start + d * 86_400_000).toISOString().slice(0, 10),
      sleep_hours: Math.round(sleep * 10) / 10,
      bedtime: `${String(Math.floor(bed / 60)).padStart(2, '0')}:${String(bed % 60).padStart(2, '0')}`,
      steps,
      resting_hr: hr,
      mood,
      caffeine_cups: caffeine,
      exercised,
      notes: next() < 0.05 ? 'travelling' : '',
    });
  }
  return out;
}

/** The diary as CSV text with the sample file's header. */
export function sleepDiaryCsv(seed: number, days: number): string {
  const lines = [SLEEP_DIARY_COLUMNS.join(',')];
  for (const day of sleepDiary(seed, days)) lines.push(SLEEP_DIARY_COLUMNS.map((c) => String(day[c])).join(','));
  return lines.join('\n') + '\n';
}

/** Several people's diaries in one CSV (one header): e.g. a researcher's validation set. */
export function sleepDiariesCsv(seeds: readonly number[], days: number): string {
  const lines = seeds.map((seed) => sleepDiaryCsv(seed, days).trimEnd().split('\n'));
  return [lines[0]![0], ...lines.flatMap((l) => l.slice(1))].join('\n') + '\n';
}
