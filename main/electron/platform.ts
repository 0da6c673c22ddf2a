// Power and idle state from Electron's powerMonitor, so the jobs run policy ('on-power', 'idle')
// can be honoured in the desktop app.
import { powerMonitor } from 'electron';
import type { PlatformState } from '../services/jobs/service.js';

/** Asks powerMonitor each time; an answer it cannot give counts as unknown, so the policy waits. */
export function powerMonitorPlatform(): PlatformState {
  return {
    onBattery: () => ask(() => powerMonitor.isOnBatteryPower(), (v) => typeof v === 'boolean'),
    idleSeconds: () => ask(() => powerMonitor.getSystemIdleTime(), (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0),
  };
}

function ask<T>(read: () => T, valid: (value: unknown) => boolean): T | null {
  try {
    const value = read();
    return valid(value) ? value : null;
  } catch {
    return null;
  }
}
