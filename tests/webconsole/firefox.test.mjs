// firefox.test.mjs — the console in Debian's firefox-esr too (the issue
// asks for current Chromium and Firefox): the shift's core — log in, the
// overdue alert first with LIC!, the detail with the earlier warning,
// acknowledge, lic+ — with axe at WCAG 2.2 AA on the list and the detail,
// and no script error. The full shift, keyboard and axe runs are
// chromium's (webconsole_shift, _keyboard, _axe).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { axe, launch, listIds, listMatrix, openPage, pageProblems, shot, syncState, text } from './lib/browser.mjs';
import { waitFor } from './lib/net.mjs';
import { login, shiftNetwork } from './lib/scenario.mjs';

const SHOTS = process.env.VG_SHOTS || '';

let net;
let ids;
let urls;
let browser;
let failed = true;

before(async () => {
  ({ net, ids, urls } = await shiftNetwork());
  browser = await launch({ firefox: true });
});

after(async () => {
  if (browser) await browser.close();
  if (net) await net.stop({ failed });
});

test('the shift in Firefox', async () => {
  const page = await openPage(browser, `${urls.licensing}/console/`);
  await login(page, 'Lic Duty');
  await waitFor(async () => (await syncState(page)) === 'LIVE', 10000, 'LIVE');
  await waitFor(async () => (await listIds(page))[0] === ids.A, 5000, 'the overdue alert first');
  assert.equal((await listMatrix(page, ids.A)).licensing, 'LIC!');
  assert.deepEqual(await axe(page), [], 'axe on the list');
  await shot(page, SHOTS, 'firefox-list');
  // The due time ticks every second; the link stays the same element, so
  // a click never lands on a row being redrawn.
  const link = await page.$(`#alerts-body a.open[data-id="${ids.A}"]`);
  const due = await text(page, `#alerts-body tr[data-id="${ids.A}"] td.due`);
  await waitFor(async () => (await text(page, `#alerts-body tr[data-id="${ids.A}"] td.due`)) !== due, 3000, 'the due time ticks');
  assert.ok(await link.evaluate((a) => a.isConnected), 'the link survives the tick');
  await link.click();
  await page.waitForSelector('#linked tbody tr');
  assert.match(await text(page, `#linked tr[data-id="${ids.C}"]`), /lic\+ licensing by J Smith/);
  assert.deepEqual(await axe(page), [], 'axe on the detail');
  await page.click('#act-ack');
  await page.waitForSelector('#act[open]');
  await page.type('#act-text', 'Read in Firefox');
  await page.click('#act-submit');
  await page.waitForFunction(() => /Acknowledged as Lic Duty/.test(document.getElementById('detail-result').textContent));
  await waitFor(async () => /lic\+/.test(await text(page, '#recipients tr[data-agency="licensing"]')), 2000, 'lic+');
  await shot(page, SHOTS, 'firefox-acknowledged');
  assert.equal(net.status('home-office', ids.A).recipients.find((r) => r.agency === 'licensing').officer, 'Lic Duty');
  assert.ok(await page.evaluate(() => Array.isArray(window.__csp)), 'the CSP watch is in place');
  assert.deepEqual(await pageProblems(page), []);
  failed = false;
});
