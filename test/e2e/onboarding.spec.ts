// The callbacks given to evaluate() run in the page.
/// <reference lib="dom" />
import type { Page } from '@playwright/test';
import { test, expect, createVault, nav, PASSPHRASE } from './fixtures.js';

test('create a vault: the strength meter guides, mismatches are caught, and the vault opens empty', async ({ app, host, shot }) => {
  await expect(app.getByRole('heading', { name: 'Create your vault' })).toBeVisible();
  await expect(app.getByRole('heading', { name: 'What is stored where' })).toBeVisible();
  await expect(app.getByText(host.session.vaultFile)).toBeVisible();
  await shot('1-welcome');

  const passphrase = app.getByLabel('Passphrase', { exact: true });
  await passphrase.fill('short');
  await expect(app.getByText('Strength: Too short.')).toBeVisible();
  await passphrase.fill('password1');
  await expect(app.getByText('Strength: Weak.')).toBeVisible();
  await app.getByLabel('Type it again').fill('password1');
  await app.getByRole('button', { name: 'Create vault' }).click();
  await expect(app.getByRole('alert')).toHaveText(/too easy to guess.*commonly used password.*Add a few unrelated words/);
  await passphrase.fill(PASSPHRASE);
  await expect(app.getByText(/Strength: (Strong|Very strong)\./)).toBeVisible();
  await app.getByLabel('Type it again').fill(`${PASSPHRASE}x`);
  await expect(app.getByText('The passphrases do not match yet.')).toBeVisible();
  await shot('2-mismatch');
  await app.getByRole('button', { name: 'Create vault' }).click();
  await expect(app.getByRole('alert')).toHaveText(/The two passphrases are different/);

  await app.getByLabel('Type it again').fill(PASSPHRASE);
  // Positive control: the scan sees typed values, where the passphrase is while it is being typed.
  expect(await placesHolding(app, PASSPHRASE)).toContain('input');
  await app.getByRole('button', { name: 'Create vault' }).click();
  await expect(app.getByRole('heading', { name: 'Your data' })).toBeVisible();
  await expect(app.getByText('No datasets yet')).toBeVisible();
  // The passphrase is not left behind in the page once the vault is created.
  expect(await placesHolding(app, PASSPHRASE)).toEqual([]);
  await shot('3-empty-vault');
});

test('the navigation is keyboard-operable and the coming screens say so', async ({ app, shot }) => {
  await createVault(app);
  const earnings = app.getByRole('button', { name: /^Earnings/ });
  await earnings.focus();
  await app.keyboard.press('Enter');
  await expect(app.getByRole('heading', { name: /Earnings/ })).toBeFocused();
  // a build without a chain says claims are not set up, in words
  await expect(app.getByText(/Claims are not set up in this build/)).toBeVisible();
  await shot('earnings-not-set-up');
  // Tab from the heading moves on through the page with a visible focus ring.
  await app.keyboard.press('Shift+Tab');
  const focused = app.locator(':focus');
  await expect(focused).toHaveAccessibleName(/Lock vault|Wallet/);
  const outline = await focused.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');
});

test('readable at 200% zoom and in the dark theme', async ({ app, shot }) => {
  await createVault(app);
  // 200% zoom of a 1280x860 window lays out like a 640x430 one.
  await app.setViewportSize({ width: 640, height: 430 });
  await expect(app.getByRole('navigation', { name: 'Main' })).toBeVisible();
  const overflow = await app.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await shot('zoom-200');
  await app.setViewportSize({ width: 1280, height: 860 });
  await app.emulateMedia({ colorScheme: 'dark' });
  const bg = await app.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).toBe('rgb(16, 20, 26)');
  await shot('dark');
  // The theme can also be chosen in Settings, whatever the system says.
  await nav(app, 'Settings').click();
  await app.getByLabel('Light').check();
  expect(await app.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(246, 247, 249)');
});

/** Where in the page a string is kept: typed input values, the markup, web storage, cookies, history. */
async function placesHolding(page: Page, secret: string): Promise<string[]> {
  return page.evaluate((s) => {
    const places: string[] = [];
    for (const el of Array.from(document.querySelectorAll('input, textarea'))) {
      if ((el as HTMLInputElement | HTMLTextAreaElement).value.includes(s)) places.push('input');
    }
    if (document.documentElement.outerHTML.includes(s)) places.push('markup');
    for (const [name, store] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]] as const) {
      for (let i = 0; i < store.length; i++) {
        const key = store.key(i) ?? '';
        if (key.includes(s) || (store.getItem(key) ?? '').includes(s)) places.push(name);
      }
    }
    if (document.cookie.includes(s)) places.push('cookie');
    if (JSON.stringify(history.state ?? null).includes(s)) places.push('history');
    return places;
  }, secret);
}
