// The app's frame: picks onboarding, unlock or the main screens from the vault's state, keeps
// that state in step with the main side's events, and draws the navigation.
import { useEffect, useState } from 'react';
import { call, messageOf } from './ipc.js';
import { useApp, useJobs, type Route } from './store.js';
import { Onboarding } from './screens/Onboarding.js';
import { Unlock } from './screens/Unlock.js';
import { DataScreen } from './screens/Data.js';
import { ImportWizard } from './screens/Import.js';
import { DatasetScreen } from './screens/Dataset.js';
import { ActivityScreen } from './screens/Activity.js';
import { SettingsScreen } from './screens/Settings.js';
import { JobsScreen } from './screens/Jobs.js';
import { JobScreen } from './screens/Job.js';
import { WalletScreen } from './screens/Wallet.js';
import { EarningsScreen } from './screens/Earnings.js';
import { OlderCopyBanner } from './components/OlderCopyBanner.js';
import { ReviewResults } from './components/ReviewResult.js';

const NAV: { screen: Route['screen']; label: string }[] = [
  { screen: 'data', label: 'Data' },
  { screen: 'jobs', label: 'Jobs' },
  { screen: 'activity', label: 'Activity' },
  { screen: 'settings', label: 'Settings' },
  { screen: 'earnings', label: 'Earnings' },
  { screen: 'wallet', label: 'Wallet' },
];

function useTheme() {
  const theme = useApp((s) => s.theme);
  useEffect(() => {
    if (theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
  }, [theme]);
}

export function App() {
  const status = useApp((s) => s.status);
  const setStatus = useApp((s) => s.setStatus);
  const [startError, setStartError] = useState<string | null>(null);
  useTheme();

  useEffect(() => {
    const off = window.trove.on('vault.state', ({ status: next, reason }) => setStatus(next, reason));
    call('app.status', {}).then(setStatus, (err: unknown) => setStartError(messageOf(err)));
    return off;
  }, [setStatus]);

  if (startError) {
    return (
      <main className="center">
        <h1>Trove could not start</h1>
        <p className="error" role="alert">{startError}</p>
      </main>
    );
  }
  if (!status) return <main className="center" aria-busy="true"><p className="muted">Opening Trove…</p></main>;
  if (status.vault === 'none') return <Onboarding />;
  if (status.vault === 'locked') return <Unlock />;
  return <Shell />;
}

function Shell() {
  const route = useApp((s) => s.route);
  const go = useApp((s) => s.go);
  const setStatus = useApp((s) => s.setStatus);
  const notify = useApp((s) => s.notify);
  const olderCopy = useApp((s) => s.status?.olderCopy);
  const active = route.screen === 'import' || route.screen === 'dataset' ? 'data' : route.screen === 'job' ? 'jobs' : route.screen;
  const upsertJob = useJobs((s) => s.upsert);
  const clearJobs = useJobs((s) => s.clear);

  // Job cards change while any screen shows (a round step, a problem): keep them current, and
  // forget them when the vault locks.
  useEffect(() => {
    const off = window.trove.on('jobs.changed', ({ job }) => upsertJob(job));
    return () => {
      off();
      clearJobs();
    };
  }, [upsertJob, clearJobs]);

  const lock = async () => {
    try {
      setStatus(await call('vault.lock', {}), 'manual');
    } catch (err) {
      notify('error', messageOf(err));
    }
  };

  return (
    <div className="shell">
      <a className="skip" href="#main">Skip to content</a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand" aria-hidden="true">
          <span className="logo">◆</span> Trove
        </div>
        <ul>
          {NAV.map((n) => (
            <li key={n.screen}>
              <button
                type="button"
                className={`nav-item${active === n.screen ? ' current' : ''}`}
                aria-current={active === n.screen ? 'page' : undefined}
                onClick={() => go({ screen: n.screen } as Route)}
              >
                {n.label}
              </button>
            </li>
          ))}
        </ul>
        <button type="button" className="lock-button" onClick={() => void lock()}>
          <svg className="icon" viewBox="0 0 16 16" aria-hidden="true">
            <rect x="3" y="7" width="10" height="7" rx="1.5" />
            <path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2" fill="none" />
          </svg>
          Lock vault
        </button>
      </nav>
      <main id="main" className="content">
        {olderCopy ? <OlderCopyBanner olderCopy={olderCopy} /> : null}
        <Screen route={route} />
      </main>
      <Notices />
      <ReviewResults />
    </div>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.screen) {
    case 'data':
      return <DataScreen />;
    case 'import':
      return <ImportWizard />;
    case 'dataset':
      return <DatasetScreen key={route.id} id={route.id} />;
    case 'activity':
      return <ActivityScreen />;
    case 'settings':
      return <SettingsScreen />;
    case 'jobs':
      return <JobsScreen />;
    case 'job':
      return <JobScreen key={route.id} id={route.id} />;
    case 'wallet':
      return <WalletScreen />;
    case 'earnings':
      return <EarningsScreen />;
  }
}

function Notices() {
  const notices = useApp((s) => s.notices);
  const dismiss = useApp((s) => s.dismiss);
  return (
    <div className="notices" role="status" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.tone}`}>
          <span>{n.text}</span>
          <button type="button" className="link" onClick={() => dismiss(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
