// Reply versions, "Compare modes" and the inspector's A/B pin in a real browser (`clasp serve` on
// the demo model, headless Chromium): regenerate gives ‹ 2/2 ›, switching shows the other version
// (text, stats and inspector), Compare modes with N = 1 on short replies shows one row per mode and
// the greedy check, and pinning one version as A shows the other against it with a difference
// heatmap; while a comparison runs, Send, Regenerate and Edit & resend wait and say why. Screenshots
// (1400×900 and 1000×800, light and dark) go to test-artifacts/versions-*.png.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ARTIFACTS, holdEngine, id, replyAfter, replyReplacing, SKIP_UI_SUITE, type Studio, openStudioPage, type StudioPage, watchFor } from './harness';


let studio: Studio;
let ui: StudioPage | undefined;
let page: Page;
let pageErrors: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `versions-${name}.png`) });
const lastReply = () => page.locator(id('message-assistant')).last();

/** The commonest colour in the A/B difference heatmap, as "r,g,b". */
const commonest = () =>
  page.locator(id('ab-diff-heatmap')).evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const n = new Map<string, number>();
    for (let i = 0; i < d.length; i += 4) n.set(`${d[i]},${d[i + 1]},${d[i + 2]}`, (n.get(`${d[i]},${d[i + 1]},${d[i + 2]}`) ?? 0) + 1);
    return [...n.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  });
/** The theme's --heat-base colour, as "r,g,b". */
const heatBase = () =>
  page.evaluate(() => {
    const probe = document.createElement('div');
    probe.style.color = getComputedStyle(document.documentElement).getPropertyValue('--heat-base');
    document.body.appendChild(probe);
    const rgb = getComputedStyle(probe).color.match(/\d+/g)!.slice(0, 3).join(',');
    probe.remove();
    return rgb;
  });

beforeAll(async () => {
  if (SKIP_UI_SUITE) return;
  ui = await openStudioPage();
  ({ studio, page, pageErrors } = ui);
}, 180_000);

afterAll(async () => {
  await ui?.close();
});

describe.skipIf(SKIP_UI_SUITE)('versions, compare modes and A/B', { timeout: 180_000 }, () => {
  it('regenerate keeps the first reply as a version; switching shows it, with its own stats and trace', async () => {
    await page.goto(studio.uiUrl);
    await page.locator(id('chat-input')).waitFor();
    await page.locator(id('theme-light')).click();
    // short sampled replies (a fresh seed each), CLaSp drafting at M = 8 so each has rounds to compare
    await page.locator(id('settings-mode')).selectOption('clasp');
    await page.locator(id('settings-skip')).fill('8');
    await page.locator(id('settings-skip')).press('Enter');
    await page.locator(id('settings-toggle')).click();
    await page.locator(id('settings-max-tokens')).fill('40');
    await page.locator(id('settings-max-tokens')).press('Enter');
    await page.locator(id('settings-toggle')).click();

    await page.locator(id('chat-input')).fill('Write a short story about a lighthouse keeper.');
    await page.locator(id('send')).click();
    await replyAfter(page, 0); // finished, not only begun: its text is compared below
    const first = await lastReply().getAttribute('data-id');
    const firstText = await lastReply().locator('.msg-body').innerText();
    expect(await page.locator(id('reply-versions')).count()).toBe(0);

    await lastReply().hover();
    await page.locator(id('regenerate')).click();
    await replyReplacing(page, first);
    expect(await page.locator(id('message-assistant')).count()).toBe(1);
    const versions = page.locator(id('reply-versions'));
    await versions.waitFor();
    expect(await versions.getAttribute('data-count')).toBe('2');
    expect(await versions.getAttribute('data-index')).toBe('2');
    const second = await lastReply().getAttribute('data-id');
    expect(second).not.toBe(first);
    // the inspector shows the new version
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-rounds')) > 0, id('inspector-skip-heatmap'));
    await shot('two-versions-light');

    await page.locator(id('version-prev')).click();
    await page.waitForFunction((f) => (document.querySelector('[data-testid="message-assistant"]') as HTMLElement | null)?.dataset.id === f, first);
    expect(await versions.getAttribute('data-index')).toBe('1');
    expect(await lastReply().locator('.msg-body').innerText()).toBe(firstText);
    // the inspector switched with it: its source line names the first version's reply
    await lastReply().locator(id('inspect-reply')).click();
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-rounds')) > 0, id('inspector-skip-heatmap'));

    // kept after a reload: the shown version is remembered by the server
    await page.reload();
    await page.locator(id('reply-versions')).waitFor();
    expect(await page.locator(id('reply-versions')).getAttribute('data-index')).toBe('1');
    expect(await lastReply().getAttribute('data-id')).toBe(first);
  });

  it('pins version 1 as A and shows version 2 against it, with a skip-set difference heatmap', async () => {
    await lastReply().hover();
    await lastReply().locator(id('inspect-reply')).click();
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-rounds')) > 0, id('inspector-skip-heatmap'));
    await page.locator(id('pin-a')).click();
    await page.locator(id('ab-pinned-note')).waitFor();
    await page.locator(id('version-next')).click();
    await page.locator(id('ab-compare')).waitFor();
    const heat = page.locator(id('ab-diff-heatmap'));
    await heat.waitFor();
    const rounds = Number(await heat.getAttribute('data-rounds'));
    expect(rounds).toBeGreaterThan(0);
    const cells = ['data-only-a', 'data-only-b', 'data-both'];
    const counts = await Promise.all(cells.map(async (a) => Number(await heat.getAttribute(a))));
    // an explicit M = 8: every round skips 8 layers in both, so both + only A = 8 per round (and both + only B)
    expect(counts[0]! + counts[2]!).toBe(8 * rounds);
    expect(counts[1]! + counts[2]!).toBe(8 * rounds);
    expect(await page.locator(`${id('ab-summary')} tr[data-row="mode"]`).innerText()).toMatch(/clasp\s+clasp/);
    expect(await page.locator(id('inspector-source')).innerText()).toMatch(/version 2 of 2/);
    // something was drawn: the canvas is not blank
    const painted = await heat.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
      return false;
    });
    expect(painted).toBe(true);
    // most cells are skipped by neither: the commonest colour is the theme's heatmap base, in each theme
    expect(await commonest()).toBe(await heatBase());
    await shot('ab-light');
    await page.locator(id('theme-dark')).click();
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    expect(await commonest()).toBe(await heatBase());
    await shot('ab-dark');
    await page.locator(id('theme-light')).click();
  });

  it('compares modes with N = 1 on short replies: progress, one row per mode, the greedy check; the chat is unchanged', async () => {
    const before = await page.locator('[data-testid="message-assistant"], [data-testid="message-user"]').count();
    await lastReply().hover();
    await page.locator(id('compare-modes')).click();
    await page.locator(id('compare-repeats')).fill('1');
    await page.locator(id('compare-max-tokens')).fill('16');
    // the progress is recorded as it shows (on a fast machine the comparison can end before a poll)
    const progressShown = await watchFor(page, id('compare-progress'));
    await page.locator(id('compare-run')).click();
    const table = page.locator(id('compare-table'));
    await table.waitFor({ timeout: 120_000 });
    expect(await progressShown()).toBe(true);
    const rows = page.locator(id('compare-row'));
    expect(await rows.count()).toBe(3);
    expect(await rows.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.mode))).toEqual(['ar', 'static', 'clasp']);
    expect(await rows.first().getAttribute('data-speedup')).toBe('1');
    for (let i = 1; i < 3; i++) expect(Number(await rows.nth(i).getAttribute('data-speedup'))).toBeGreaterThan(0);
    expect(await table.getAttribute('data-identical')).toBe('yes');
    expect(await page.locator(id('compare-identical')).innerText()).toMatch(/Same text in every mode/);
    // not added to the conversation
    expect(await page.locator('[data-testid="message-assistant"], [data-testid="message-user"]').count()).toBe(before);
    expect(await page.locator(id('reply-versions')).getAttribute('data-count')).toBe('2');
    await page.locator(id('compare-panel')).scrollIntoViewIfNeeded();
    await shot('compare-light');
    await page.locator(id('theme-dark')).click();
    await shot('compare-dark');
    await page.locator(id('theme-light')).click();
  });

  it('keeps each compare run’s trace: a run opens in the inspector, pins as A, and is listed (and deleted) under Compare modes', async () => {
    const runButton = (mode: string) => page.locator(`${id('compare-row')}[data-mode="${mode}"] ${id('compare-run-open')}`);
    expect(await page.locator(id('compare-run-open')).count()).toBe(3); // N = 1: one run per mode
    await runButton('clasp').click();
    await page.waitForFunction((sel) => (document.querySelector(sel)?.textContent ?? '').includes('Compare: clasp run 1 of 1'), id('inspector-source'));
    expect(await page.locator(`${id('inspector-source')} .src-chip`).innerText()).toBe('compare run');
    expect(await runButton('clasp').getAttribute('aria-current')).toBe('true');
    // clasp at M = 8 drafted: its rounds are there to inspect
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-rounds')) > 0, id('inspector-skip-heatmap'));
    await page.locator(id('pin-a')).click();
    await page.locator(id('ab-pinned-note')).waitFor();
    expect(await page.locator(id('ab-pinned-note')).innerText()).toContain('Compare: clasp run 1 of 1');
    await runButton('static').click();
    await page.locator(id('ab-compare')).waitFor();
    expect(await page.locator(`${id('ab-summary')} tr[data-row="mode"]`).innerText()).toMatch(/clasp\s+static/);
    await shot('compare-run-ab-light');
    // listed under their own heading, not as imported files; nothing was added to the chat
    await page.locator(id('trace-list-toggle')).click();
    const group = page.locator(`${id('trace-group')}[data-source="compare"]`);
    expect(await group.locator('h4').textContent()).toBe('Compare modes');
    expect((await group.locator('.trace-open').allInnerTexts()).sort()).toEqual(['Compare: ar run 1 of 1', 'Compare: clasp run 1 of 1', 'Compare: static run 1 of 1']);
    expect(await page.locator(`${id('trace-group')}[data-source="imported"]`).count()).toBe(0);
    await shot('compare-trace-list-light');
    await group.locator(`${id('trace-item')}:has-text("Compare: ar run 1 of 1") ${id('trace-delete')}`).click();
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, `${id('trace-group')}[data-source="compare"] ${id('trace-item')}`);
    await page.locator(id('trace-list-toggle')).click();
    expect(await runButton('ar').isDisabled()).toBe(true); // its trace is gone
    expect(await page.locator(id('message-assistant')).count()).toBe(1);
    await page.locator(id('theme-dark')).click(); // the next step's first shots are dark
  });

  it('fits at 1000×800, and deleting a version leaves one', async () => {
    await page.setViewportSize({ width: 1000, height: 800 });
    await page.locator(id('compare-panel')).scrollIntoViewIfNeeded();
    await shot('compare-1000-dark');
    await page.locator(id('theme-light')).click();
    await shot('compare-1000-light');
    await lastReply().hover();
    await page.locator(id('version-delete')).click();
    await page.locator(id('version-delete-confirm')).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="reply-versions"]').length === 0);
    expect(await page.locator(id('message-assistant')).count()).toBe(1);
  });

  it('while a comparison runs, Send, Regenerate and Edit & resend wait and say why; cancelling it brings them back', async () => {
    await lastReply().hover();
    if ((await page.locator(id('compare-panel')).count()) === 0) await page.locator(id('compare-modes')).click();
    await page.locator(id('compare-repeats')).fill('10');
    await page.locator(id('compare-max-tokens')).fill('64');
    await page.locator(id('chat-input')).fill('Another question');
    // the comparison's runs wait behind an API client's reply, so it is still running at every step below
    const release = await holdEngine(studio);
    await page.locator(id('compare-run')).click();
    const why = page.locator(id('compare-blocks-send'));
    await why.waitFor();
    expect(await why.innerText()).toMatch(/Send waits: “Compare modes” is re-running a reply of this chat .*\(\d+\/30 runs\)/);
    expect(await page.locator(id('send')).isDisabled()).toBe(true);
    expect(await page.locator(id('send')).getAttribute('title')).toMatch(/^Send waits/);
    await page.locator(id('chat-input')).press('Enter'); // Enter does not send either
    expect(await page.locator(id('message-user')).count()).toBe(1);
    // Regenerate and Edit & resend wait the same way, with the same reason as their title
    await lastReply().hover();
    const regenerate = page.locator(id('regenerate'));
    expect(await regenerate.isDisabled()).toBe(true);
    expect(await regenerate.getAttribute('title')).toMatch(/^Regenerate waits: “Compare modes” is re-running a reply of this chat .*\(\d+\/30 runs\)/);
    await page.locator(id('message-user')).hover();
    await page.locator(id('edit-message')).click();
    const editSend = page.locator(id('edit-send'));
    expect(await editSend.isDisabled()).toBe(true);
    expect(await editSend.getAttribute('title')).toMatch(/^Edit & resend waits: “Compare modes” is re-running a reply of this chat/);
    await page.locator(id('edit-input')).fill('Edited meanwhile');
    await page.locator(id('edit-input')).press('Enter'); // Enter does not resend either: the edit stays open
    expect(await page.locator(id('edit-input')).inputValue()).toBe('Edited meanwhile');
    expect(await page.locator(id('message-assistant')).count()).toBe(1);
    await page.setViewportSize({ width: 1400, height: 900 });
    await shot('compare-blocks-send-light');
    await page.locator(id('compare-blocks-cancel')).click();
    await why.waitFor({ state: 'detached', timeout: 60_000 });
    await release();
    expect(await page.locator(id('send')).isEnabled()).toBe(true);
    expect(await editSend.isEnabled()).toBe(true);
    expect(await editSend.getAttribute('title')).toBeNull();
    await page.locator(id('edit-input')).press('Escape');
    await lastReply().hover();
    expect(await regenerate.isEnabled()).toBe(true);
    expect(await regenerate.getAttribute('title')).toBe('Regenerate');
    expect(pageErrors).toEqual([]);
  });
});
