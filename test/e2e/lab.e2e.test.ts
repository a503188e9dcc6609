// The layer lab in a real browser (`clasp serve` on the demo model, headless Chromium, greedy): pin
// a skip set in a round's layer strip (toggle, clear, count), re-run the prompt with it, and see its
// acceptance and cosine path beside the DP's choice, with the reply left as it was; re-run with
// CLaSp at a fixed M from the DP table. Screenshots (1400×900 light, 1000×800 dark) go to
// test-artifacts/lab-*.png.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ARTIFACTS, id, SKIP_UI_SUITE, type Studio, openStudioPage, type StudioPage } from './harness';


let studio: Studio;
let ui: StudioPage | undefined;
let page: Page;
let pageErrors: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `lab-${name}.png`) });

async function setField(testId: string, value: string) {
  await page.locator(id(testId)).fill(value);
  await page.locator(id(testId)).press('Enter');
}

const pressed = () => page.locator(`${id('layer-lab')} [aria-pressed="true"]`).evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.layer)));

describe.skipIf(SKIP_UI_SUITE)('the layer lab', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    ui = await openStudioPage();
    ({ studio, page, pageErrors } = ui);
  }, 180_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('gets a greedy CLaSp reply with a fixed M and picks a round', async () => {
    await page.goto(studio.uiUrl);
    await page.locator(id('chat-input')).waitFor();
    await page.locator(id('theme-light')).click();
    await setField('settings-skip', '8'); // an explicit M always drafts, whatever the machine
    await page.locator(id('settings-toggle')).click();
    await setField('settings-temperature', '0');
    await setField('settings-max-tokens', '48');
    await page.locator(id('settings-fixed-seed')).check();
    await setField('settings-seed', '7');
    await page.locator(id('settings-toggle')).click();
    await page.locator(id('chat-input')).fill('Count from 12 to 30.');
    await page.locator(id('send')).click();
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-status') === 'complete', id('message-assistant'), { timeout: 90_000 });
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-rounds')) > 2, id('inspector-skip-heatmap'));
    const box = (await page.locator(`${id('inspector-skip-heatmap')} canvas`).boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.3);
    await page.locator(id('inspector-round-detail')).waitFor();
    expect(await page.locator(`${id('layer-lab')} [data-layer]`).count()).toBe(32);
    // the Summary card: the reply's measured speed against plain decoding here, the same figure as
    // the reply's explanation says; the policy's prediction only in small print, named as such
    const card = page.locator(id('inspector-measured-speed'));
    const speedup = Number(await card.getAttribute('data-speedup'));
    expect(speedup).toBeGreaterThan(0);
    expect(await card.locator('.stat-label').innerText()).toBe('of plain speed, measured');
    expect(await page.locator(id('inspector-measured-rates')).innerText()).toMatch(/^[\d.,]+ tok\/s · plain [\d.,]+ tok\/s here$/);
    const headline = await page.locator(`${id('speed-explanation')} .speed-headline-text`).innerText();
    const told = /ran at ([\d.,]+×) of plain speed/.exec(headline);
    expect(told, headline).not.toBeNull();
    expect((await card.locator('.stat-num').innerText()).startsWith(told![1]!)).toBe(true);
    expect(await page.locator(id('inspector-summary')).innerText()).not.toMatch(/predicted speed-up/);
  });

  it('pins layers: toggle, take the round’s set, clear, and shows the count', async () => {
    const lab = page.locator(id('layer-lab'));
    expect(await page.locator(id('layer-lab-run')).isDisabled()).toBe(true); // nothing pinned yet
    await lab.locator('[data-layer="3"]').click();
    await lab.locator('[data-layer="30"]').click();
    expect(await pressed()).toEqual([3, 30]);
    expect(await page.locator(id('layer-lab-count')).getAttribute('data-count')).toBe('2');
    await lab.locator('[data-layer="3"]').click();
    expect(await pressed()).toEqual([30]);
    await page.locator(id('layer-lab-clear')).click();
    expect(await pressed()).toEqual([]);
    expect(await page.locator(id('layer-lab-count')).innerText()).toBe('No layers pinned');
    // from the round's own set (the DP's choice), then change it
    const roundSet = (await page.locator(`${id('inspector-round-detail')} .skip-list`).innerText()).split(' ').map(Number);
    expect(roundSet).toHaveLength(8);
    await page.locator(id('layer-lab-copy')).click();
    expect(await pressed()).toEqual(roundSet);
    const dropped = roundSet[0]!;
    const added = [...Array(32).keys()].find((l) => !roundSet.includes(l) && l > 20)!;
    await lab.locator(`[data-layer="${dropped}"]`).click();
    await lab.locator(`[data-layer="${added}"]`).click();
    const mine = [...roundSet.slice(1), added].sort((a, b) => a - b);
    expect(await pressed()).toEqual(mine);
    expect(await page.locator(id('layer-lab-count')).innerText()).toMatch(/^Pinned 8 of 32: /);
  });

  it('re-runs the prompt with the pinned set: same text, its acceptance and path beside the DP’s, the reply untouched', async () => {
    const reply = page.locator(id('message-assistant'));
    const textBefore = await reply.innerText();
    const replyId = await reply.getAttribute('data-id');
    expect(await page.locator(id('layer-lab-run')).isEnabled()).toBe(true);
    await page.locator(id('layer-lab-run')).click();
    const row = page.locator(id('layer-lab-result')).first();
    await row.waitFor({ timeout: 90_000 });
    expect(await row.getAttribute('data-kind')).toBe('set');
    expect(await row.getAttribute('data-m')).toBe('8');
    expect(await row.getAttribute('data-identical')).toBe('yes'); // greedy: lossless with any set
    const cells = await row.locator('td').allInnerTexts();
    expect(Number(cells[1])).toBeGreaterThanOrEqual(1); // mean accepted length
    expect(cells[2]).toMatch(/^\d+%$/); // acceptance rate
    // the DP's choice and this set, as two cosine paths
    expect(await page.locator(id('layer-lab-paths')).getAttribute('data-lines')).toBe('2');
    expect(await page.locator(`${id('layer-lab-paths')} polyline`).count()).toBe(2);
    // the reply is as it was: one reply, the same text and id
    expect(await page.locator(id('message-assistant')).count()).toBe(1);
    expect(await reply.getAttribute('data-id')).toBe(replyId);
    expect(await reply.innerText()).toBe(textBefore);
    await page.locator(id('layer-lab-results')).scrollIntoViewIfNeeded();
    await shot('results-light-1400');
    await page.screenshot({ path: '/tmp/lab-results-light-1400.png' });
  });

  it('re-runs with CLaSp at a fixed M from the DP table, and refuses an M out of range', async () => {
    await page.locator(id('dp-rerun-m')).fill('40');
    expect(await page.locator(id('dp-rerun')).isDisabled()).toBe(true);
    expect(await page.locator('.dp-rerun .lab-error').innerText()).toContain('M must be a whole number from 1 to 31');
    await page.locator(id('dp-rerun-m')).fill('12');
    await page.locator(id('dp-rerun')).click();
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, id('layer-lab-result'), { timeout: 90_000 });
    const row = page.locator(id('layer-lab-result')).nth(1);
    expect(await row.getAttribute('data-kind')).toBe('clasp');
    expect(await row.getAttribute('data-m')).toBe('12');
    expect(await row.getAttribute('data-identical')).toBe('yes');
    expect(await page.locator(id('layer-lab-paths')).getAttribute('data-lines')).toBe('3');
  });

  it('fits at 1000×800 in the Round tab, and opens a run in the inspector', async () => {
    await page.locator(id('theme-dark')).click();
    await page.setViewportSize({ width: 1000, height: 800 });
    await page.locator(id('inspector-tab-round')).click();
    await page.locator(id('layer-lab')).scrollIntoViewIfNeeded();
    const strip = (await page.locator(id('layer-lab')).boundingBox())!;
    expect(strip.x + strip.width).toBeLessThanOrEqual(1000);
    await shot('round-dark-1000');
    await page.screenshot({ path: '/tmp/lab-round-dark-1000.png' });
    await page.locator(id('layer-lab-results')).scrollIntoViewIfNeeded();
    await page.screenshot({ path: '/tmp/lab-results-dark-1000.png' });
    await page.locator(id('layer-lab-open')).first().click();
    await page.waitForFunction((sel) => /Lab: skip \d/.test(document.querySelector(sel)?.textContent ?? ''), id('inspector-source'));
    expect(await page.locator(`${id('inspector-source')} .src-chip`).innerText()).toBe('lab run');
    // the trace list keeps the runs under their own heading, not with imported files
    await page.locator(id('trace-list-toggle')).click();
    const groups = page.locator(id('trace-group'));
    expect(await groups.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.source))).toEqual(['lab']);
    expect(await groups.locator('h4').textContent()).toBe('Layer lab');
    const names = await page.locator(`${id('trace-item')}[data-source="lab"] .trace-open`).allInnerTexts();
    expect(names.sort()).toEqual(['Lab: clasp M=12', expect.stringMatching(/^Lab: skip [\d,-]+$/)]);
    await shot('trace-list-dark-1000');
    await page.locator(id('trace-list-toggle')).click();
    expect(pageErrors).toEqual([]);
  });
});
