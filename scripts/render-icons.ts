// Renders the app icon (renderer/public/favicon.svg) to the PNGs electron-builder packages:
// assets/icons/icon.png (1024 px; converted to .icns and .ico by electron-builder) and the sizes
// Linux desktops pick from. Run after changing the icon: npx tsx scripts/render-icons.ts
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const svg = readFileSync('renderer/public/favicon.svg', 'utf8');
mkdirSync('assets/icons', { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.TROVE_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  for (const size of [1024, 512, 256, 128, 64, 32, 16]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`);
    const name = size === 1024 ? 'icon.png' : `${size}x${size}.png`;
    await page.screenshot({ path: `assets/icons/${name}`, omitBackground: true });
    await page.close();
  }
} finally {
  await browser.close();
}
console.log('icons: rendered to assets/icons/');
