// The desktop app's power and idle state, read from powerMonitor (Electron replaced by the
// recording double), and the run policy the jobs service derives from it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { power } from './electron-double.js';

vi.mock('electron', () => import('./electron-double.js'));

const { powerMonitorPlatform } = await import('../../../main/electron/platform.js');

afterEach(() => {
  power.onBattery = () => false;
  power.idleSeconds = () => 0;
});

describe('the desktop platform state', () => {
  it('reports battery and idle time as powerMonitor answers them', () => {
    const platform = powerMonitorPlatform();
    power.onBattery = () => true;
    power.idleSeconds = () => 421;
    expect(platform.onBattery()).toBe(true);
    expect(platform.idleSeconds()).toBe(421);
    // Asked afresh each time: plugging in shows at once.
    power.onBattery = () => false;
    power.idleSeconds = () => 0;
    expect(platform.onBattery()).toBe(false);
    expect(platform.idleSeconds()).toBe(0);
  });

  it('counts an answer powerMonitor cannot give as unknown', () => {
    const platform = powerMonitorPlatform();
    power.onBattery = () => {
      throw new Error('not supported on this platform');
    };
    power.idleSeconds = () => Number.NaN;
    expect(platform.onBattery()).toBeNull();
    expect(platform.idleSeconds()).toBeNull();
  });
});
