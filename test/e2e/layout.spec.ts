// The frame around every screen: the navigation and "Lock vault" stay reachable on a long page, and
// in a narrow window (or at 200% zoom) the navigation is one slim bar, not half the screen.
import { test, expect, createVault, importFile, nav, peopleCsv } from './fixtures.js';

test('navigation stays in view on a long page, and is one slim bar when narrow', async ({ app, workFile, shot }) => {
  await createVault(app);
  for (let i = 0; i < 6; i++) await importFile(app, workFile(`part-${i}.csv`, peopleCsv(3)));
  await nav(app, 'Activity').click();
  await app.setViewportSize({ width: 1280, height: 500 });
  await app.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  expect(await app.evaluate(() => window.scrollY)).toBeGreaterThan(100);
  await expect(app.getByRole('button', { name: 'Lock vault' })).toBeInViewport();
  await expect(nav(app, 'Data')).toBeInViewport();
  await shot('1-long-page-scrolled');

  for (const [width, height, name] of [
    [800, 860, '2-narrow'],
    [640, 430, '3-zoom-200'],
  ] as const) {
    await app.setViewportSize({ width, height });
    await app.evaluate(() => window.scrollTo(0, 0));
    const bar = await app.getByRole('navigation', { name: 'Main' }).boundingBox();
    expect(bar!.height).toBeLessThanOrEqual(56);
    const lock = await app.getByRole('button', { name: 'Lock vault' }).boundingBox();
    expect(lock!.y).toBeLessThan(bar!.height);
    await expect(nav(app, 'Data')).toBeInViewport();
    const overflow = await app.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(name);
  }
});
