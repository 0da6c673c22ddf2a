// The e2e fixture: each test gets a fresh data folder, the app's services behind the headless
// host, and the real renderer open in Chromium. Key derivation is cheap here so tests run fast;
// the app's defaults are not touched.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { test as base, expect, type Page } from '@playwright/test';
import { startHeadlessHost, type HeadlessHost } from '../../main/host/headless.js';
import type { JobsConfig } from '../../main/services/session/session.js';
import type { WalletConfig } from '../../main/services/wallet/host.js';

export const FAST_KDF = { opsLimit: 1, memLimit: 8 * 1024 * 1024 };
export const PASSPHRASE = 'orbit maple lantern 42';
export const SCREENSHOTS = join('test-results', 'screens');

interface Fixtures {
  /** Where the app finds jobs; none by default, as in a build without a chain. */
  jobs: JobsConfig | undefined;
  /** Where a wallet links; none by default. */
  wallet: WalletConfig | undefined;
  dataDir: string;
  host: HeadlessHost;
  /** The page with the app open in it. */
  app: Page;
  shot: (name: string) => Promise<void>;
  /**
   * Screenshots of the page as it is, light and dark, in an 800 px window and at 200% zoom, each
   * scanned for accessibility problems (none allowed); the window is put back afterwards.
   */
  looks: (name: string) => Promise<void>;
  workFile: (name: string, contents: string) => string;
}

export const test = base.extend<Fixtures>({
  jobs: [undefined, { option: true }],
  wallet: [undefined, { option: true }],
  // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies as a destructured object
  dataDir: async ({}, use) => {
    const dir = mkdtempSync(join(tmpdir(), 'trove-e2e-'));
    await use(dir);
    rmSync(dir, { recursive: true, force: true });
  },
  host: async ({ page, dataDir, jobs, wallet }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const host = await startHeadlessHost(page, { dataDir: join(dataDir, 'app'), vault: { kdf: FAST_KDF }, ...(jobs ? { jobs } : {}), ...(wallet ? { wallet } : {}) });
    await use(host);
    await host.close();
    // A page error or a CSP violation is a failure even when the flow itself passed.
    expect(errors, 'errors in the page').toEqual([]);
  },
  app: async ({ page, host }, use) => {
    await expect(page.locator('h1')).toBeVisible();
    void host;
    await use(page);
  },
  shot: async ({ page }, use, testInfo) => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await use(async (name) => {
      await page.screenshot({ path: join(SCREENSHOTS, `${testInfo.title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}--${name}.png`), fullPage: true });
    });
  },
  looks: async ({ page, shot }, use) => {
    await use((name) => looksAt(page, name, shot));
  },
  workFile: async ({ dataDir }, use) => {
    const dir = join(dataDir, 'files');
    mkdirSync(dir, { recursive: true });
    await use((name, contents) => {
      const path = join(dir, name);
      writeFileSync(path, contents);
      return path;
    });
  },
});

export { expect };

/**
 * Screenshots of a page as it is, light and dark, in an 800 px window and at 200% zoom, each
 * scanned for accessibility problems (none allowed); the window is put back afterwards. For tests
 * that open the app in pages of their own; the others use the `looks` fixture.
 */
export async function looksAt(page: Page, name: string, shot: (name: string) => Promise<unknown>): Promise<void> {
  const size = page.viewportSize() ?? { width: 1280, height: 860 };
  const views = [
    { label: 'light', width: size.width, height: size.height, scheme: 'light' },
    { label: 'dark', width: size.width, height: size.height, scheme: 'dark' },
    { label: '800px', width: 800, height: 860, scheme: 'light' },
    // 200% zoom of a 1280 x 860 window: the page lays out in half the CSS pixels.
    { label: 'zoom-200', width: 640, height: 430, scheme: 'dark' },
  ] as const;
  for (const v of views) {
    await page.setViewportSize({ width: v.width, height: v.height });
    await page.emulateMedia({ colorScheme: v.scheme });
    await shot(`${name}-${v.label}`);
    const scan = await new AxeBuilder({ page }).analyze();
    expect(scan.violations.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`), `accessibility of ${name} (${v.label})`).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), `sideways scroll in ${name} (${v.label})`).toBeLessThanOrEqual(0);
  }
  await page.setViewportSize(size);
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Creates a vault through the onboarding screen. */
export async function createVault(page: Page, passphrase = PASSPHRASE): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Create your vault' })).toBeVisible();
  await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await page.getByLabel('Type it again').fill(passphrase);
  await page.getByRole('button', { name: 'Create vault' }).click();
  await expect(page.getByRole('heading', { name: 'Your data' })).toBeVisible();
}

/** A CSV of people with a few rows that do not fit their columns. */
export function peopleCsv(rows = 60, badLines: number[] = []): string {
  const lines = ['name,age,height_cm,joined,member'];
  for (let i = 1; i <= rows; i++) {
    const line = i + 1;
    if (badLines.includes(line)) lines.push(i % 2 ? `Person ${i},not-a-number,170.5,2021-03-04,true` : `Person ${i},33`);
    else lines.push(`Person ${i},${20 + (i % 50)},${(150 + ((i * 7) % 45) + 0.5).toFixed(1)},2020-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')},${i % 3 === 0}`);
  }
  return lines.join('\n') + '\n';
}

/** Imports a file through the wizard with the "skip bad rows" policy and waits for the report. */
export async function importFile(page: Page, path: string): Promise<void> {
  await nav(page, 'Data').click();
  await page.getByRole('button', { name: 'Import a file' }).click();
  await page.getByTestId('import-file').setInputFiles(path);
  await expect(page.getByRole('heading', { name: 'Columns' })).toBeVisible();
  await page.getByRole('button', { name: /^Import \d+ columns?$/ }).click();
  await expect(page.getByRole('heading', { name: /^Imported "/ })).toBeVisible();
}

/** A button of the main navigation. */
export function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
}
