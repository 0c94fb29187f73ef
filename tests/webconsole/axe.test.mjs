// axe.test.mjs — every screen of the web console through axe-core at WCAG
// 2.2 AA (tags wcag2a, wcag2aa, wcag21a, wcag21aa, wcag22aa): zero
// violations. The screens: the login form (empty, with its errors), the
// list, the detail, each action's dialog (and a dialog's error), the
// attention banner, a viewer's list and detail, the list and the detail at
// 320 px wide and at 200% zoom (no page-wide horizontal scrolling), the
// STALE banner, the warning before an idle session ends and the login
// after it ended. Attention is checked too: a new critical alert is
// announced once — the live region, the title, a desktop notification.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { axe, launch, openPage, pageProblems, shot, syncState, text } from './lib/browser.mjs';
import { waitFor } from './lib/net.mjs';
import { PASSWORDS, login, shiftNetwork } from './lib/scenario.mjs';

const SHOTS = process.env.VG_SHOTS || '';

let net;
let ids;
let urls;
let browser;
let page;
let failed = true;

before(async () => {
  // The Home Office's sessions end after 8 s unused, to see the warning.
  ({ net, ids, urls } = await shiftNetwork({ gatewayKeys: { 'home-office': { session_idle: '8s' } } }));
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (net) await net.stop({ failed });
});

async function clean(screen) {
  const v = await axe(page);
  assert.deepEqual(v, [], `axe on ${screen}`);
  await shot(page, SHOTS, `axe-${screen.replace(/[^a-z0-9]+/gi, '-')}`);
}

async function noSidewaysScroll(screen) {
  const w = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert.ok(w.doc <= w.view + 1, `${screen}: the page is ${w.doc} px wide in a ${w.view} px window`);
}

async function openDialog(id) {
  await page.click(id);
  await page.waitForSelector('#act[open]');
}

async function closeDialog() {
  await page.click('#act-cancel');
  await page.waitForSelector('#act:not([open])');
}

test('every screen at WCAG 2.2 AA', async (t) => {
  await t.test('the login form, empty and with its errors', async () => {
    page = await openPage(browser, `${urls.licensing}/console/`);
    await page.waitForSelector('#login-view:not([hidden])');
    await clean('login');
    await page.click('#login-submit');
    await waitFor(async () => (await text(page, '#login-error')) !== '', 2000, 'an error');
    await clean('login-empty-error');
    await page.type('#login-name', 'Lic Duty');
    await page.type('#login-password', 'not the password at all');
    await page.click('#login-submit');
    await waitFor(async () => /wrong/.test(await text(page, '#login-error')), 5000, 'wrong password');
    await clean('login-wrong-password');
    await page.$eval('#login-name', (e) => {
      e.value = '';
    });
  });

  await t.test('the list and the detail of a duty officer', async () => {
    await login(page, 'Lic Duty');
    await waitFor(async () => (await syncState(page)) === 'LIVE', 10000, 'LIVE');
    await clean('list');
    await page.click('details.legend summary');
    await clean('list-legend-open');
    await page.type('#f-text', 'taxi');
    await page.click('#f-overdue');
    await clean('list-filtered');
    await page.click('#f-clear');
    await page.click(`#alerts-body a.open[data-id="${ids.A}"]`);
    await page.waitForSelector('#linked tbody tr');
    await clean('detail');
  });

  await t.test('each action\u2019s dialog, and a dialog\u2019s error', async () => {
    await openDialog('#act-ack');
    await clean('dialog-acknowledge');
    await closeDialog();
    await openDialog('#act-progress');
    await clean('dialog-in-progress');
    await closeDialog();
    await openDialog('#act-decline');
    await page.click('#act-submit');
    await waitFor(async () => /required/.test(await text(page, '#act-error')), 2000, 'the error');
    await clean('dialog-decline-error');
    await closeDialog();
    await openDialog('#act-share');
    await clean('dialog-share');
    await closeDialog();
  });

  await t.test('attention: a new critical alert is announced once', async () => {
    await page.click('#back');
    await page.waitForSelector('#list-view:not([hidden])');
    const id = net.publish('home-office', ['--severity', 'critical', '--category', 'taxi', '--headline', 'Driver TL-0417 seen outside a school']);
    await waitFor(async () => /NEW CRITICAL alert/.test(await text(page, '#announce')), 10000, 'the announcement');
    assert.match(await text(page, '#announce'), new RegExp(`Attention: NEW CRITICAL alert ${id.slice(0, 8)} from home-office`));
    assert.match(await page.title(), /^Attention: NEW CRITICAL alert/);
    assert.equal(await page.$eval('#attention', (e) => e.hidden), false);
    await clean('attention');
    await new Promise((r) => setTimeout(r, 3000));
    const notes = await page.evaluate(() => window.__notes);
    assert.equal(notes.length, 1, 'one desktop notification, once');
    assert.match(notes[0].body, /NEW CRITICAL alert/);
    await page.click('#attention-dismiss');
    assert.doesNotMatch(await page.title(), /Attention/);
  });

  await t.test('320 px wide and 200% zoom: everything reflows', async () => {
    for (const [name, vp] of [['320px', { width: 320, height: 640 }], ['zoom-200', { width: 640, height: 450 }]]) {
      await page.setViewport(vp);
      await page.evaluate(() => {
        window.location.hash = '#/';
      });
      await page.waitForSelector('#list-view:not([hidden])');
      await noSidewaysScroll(`${name} list`);
      await clean(`list-${name}`);
      await page.evaluate((a) => {
        window.location.hash = `#/alert/${a}`;
      }, ids.A);
      await page.waitForSelector('#linked tbody tr');
      await noSidewaysScroll(`${name} detail`);
      await clean(`detail-${name}`);
      await openDialog('#act-share');
      await noSidewaysScroll(`${name} dialog`);
      await clean(`dialog-${name}`);
      await closeDialog();
    }
    await page.setViewport({ width: 1280, height: 900 });
  });

  await t.test('a viewer: the list and the detail, with no action', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-view:not([hidden])');
    await clean('logged-out');
    await login(page, 'Lic Viewer');
    await waitFor(async () => (await syncState(page)) === 'LIVE', 10000, 'LIVE');
    await clean('viewer-list');
    await page.click(`#alerts-body a.open[data-id="${ids.A}"]`);
    await page.waitForSelector('#detail-actions p.note');
    assert.equal(await page.$('#act-ack'), null);
    assert.match(await text(page, '#detail-actions'), /viewer/);
    await clean('viewer-detail');
  });

  await t.test('the STALE banner', async () => {
    await net.killProc('broker', 'SIGTERM');
    await waitFor(async () => (await syncState(page)) === 'STALE', 10000, 'STALE', 100);
    await clean('stale');
    await net.startBroker();
    await waitFor(async () => (await syncState(page)) === 'LIVE', 20000, 'LIVE again', 100);
  });

  await t.test('the warning before an idle session ends, and the login after', async () => {
    const ho = await openPage(browser, `${urls['home-office']}/console/`);
    page = ho;
    await page.waitForSelector('#login-view:not([hidden])');
    await page.type('#login-name', 'HO Duty');
    await page.type('#login-password', PASSWORDS['HO Duty']);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#list-view:not([hidden])');
    await page.waitForSelector('#timeout[open]', { timeout: 10000 });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'timeout-stay');
    await clean('idle-warning');
    await page.keyboard.press('Enter'); // stay logged in
    await page.waitForSelector('#timeout:not([open])');
    // Left alone, the session ends; the page says so at the login form.
    await page.waitForSelector('#login-view:not([hidden])', { timeout: 20000 });
    assert.match(await text(page, '#login-message'), /You were logged out/);
    await clean('session-ended');
    assert.deepEqual(await pageProblems(page), []);
  });
  failed = false;
});
