import { test, expect, createVault } from './fixtures.js';

test('smoke', async ({ page, host, shot }) => {
  void host;
  await createVault(page);
  await shot('data');
  await expect(page.getByText('No datasets yet')).toBeVisible();
});
