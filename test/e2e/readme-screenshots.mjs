// Takes the README screenshots (docs/screenshots/) from a running `clasp serve`:
//   node test/e2e/readme-screenshots.mjs 'http://127.0.0.1:8080/?token=...' [outDir]
// Use a fresh CLASP_DATA_DIR and a quiet machine: the stats in the pictures are real measurements.
import { chromium } from 'playwright-core';
import * as path from 'node:path';

const url = process.argv[2];
if (!url) {
  console.error('usage: node test/e2e/readme-screenshots.mjs <UI URL printed by clasp serve> [outDir]');
  process.exit(2);
}
const out = process.argv[3] ?? path.join(import.meta.dirname ?? '.', '..', '..', 'docs', 'screenshots');
const id = (t) => `[data-testid="${t}"]`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
const page = await context.newPage();
await page.goto(url);
await page.locator(id('settings-mode')).waitFor();

// Greedy decoding, ten layers skipped, a reply long enough to fill the heatmaps.
await page.locator(id('settings-skip')).fill('10');
await page.locator(id('settings-skip')).press('Enter');
await page.locator(id('settings-toggle')).click();
for (const [field, value] of [['settings-temperature', '0'], ['settings-max-tokens', '300']]) {
  await page.locator(id(field)).fill(value);
  await page.locator(id(field)).press('Enter');
}
await page.locator(id('settings-toggle')).click();
await page.locator(id('chat-input')).fill('Write a long story about a ship at sea.');
await page.locator(id('send')).click();
await page.locator(id('stop')).waitFor();
await page.locator(id('stop')).waitFor({ state: 'detached', timeout: 300_000 });
await page.waitForTimeout(500);
await page.screenshot({ path: path.join(out, 'chat-and-inspector.png') });

// A round up close, with token fates on.
const heat = page.locator(`${id('inspector-skip-heatmap')} canvas`);
const box = await heat.boundingBox();
await page.mouse.click(box.x + box.width * 0.55, box.y + box.height * 0.5);
await page.locator(id('token-fate-toggle')).check({ force: true });
await page.locator(id('inspector-round-detail')).scrollIntoViewIfNeeded();
await page.mouse.move(10, 10);
await page.waitForTimeout(400);
await page.screenshot({ path: path.join(out, 'round-drilldown.png') });

// The light theme.
await page.emulateMedia({ colorScheme: 'light' });
await page.locator(id('token-fate-toggle')).uncheck({ force: true });
await page.locator('.insp-scroll').evaluate((e) => (e.scrollTop = 0));
await page.waitForTimeout(400);
await page.screenshot({ path: path.join(out, 'light-theme.png') });
await browser.close();
console.log(`screenshots written to ${out}`);
