// A process's resident memory, read from outside it: the supervisor must see a worker's memory
// even while that worker's event loop is blocked and sends no heartbeat (a job that allocates in
// one long synchronous loop). Linux reads /proc; macOS and the BSDs ask ps; elsewhere it is
// unknown (null) and the heartbeat's own report is what remains.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export async function residentBytesOf(pid: number): Promise<number | null> {
  if (process.platform === 'linux') {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
      return kb === undefined ? null : Number(kb) * 1024;
    } catch {
      return null; // the process is gone
    }
  }
  if (process.platform === 'darwin' || process.platform.endsWith('bsd')) {
    return new Promise((resolve) => {
      execFile('ps', ['-o', 'rss=', '-p', String(pid)], { timeout: 2_000 }, (err, stdout) => {
        const kb = Number(stdout.trim());
        resolve(err || !Number.isFinite(kb) || kb <= 0 ? null : kb * 1024);
      });
    });
  }
  return null;
}
