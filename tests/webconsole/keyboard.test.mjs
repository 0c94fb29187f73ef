// keyboard.test.mjs — the same shift with the keyboard only: no mouse or
// pointer event reaches either page (the pages count them). From the login
// form to the acknowledgement: Tab, Shift+Tab, Enter, Escape, arrow keys
// and typing. The focus is always visible (an outline the style sheet
// draws for :focus-visible), moves to the new heading when the view
// changes, goes into a dialog when it opens and back to its button when it
// closes; a form error takes the focus to the field.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, listMatrix, openPage, pageProblems, shot, syncState, text } from './lib/browser.mjs';
import { waitFor } from './lib/net.mjs';
import { PASSWORDS, shiftNetwork } from './lib/scenario.mjs';

const SHOTS = process.env.VG_SHOTS || '';

let net;
let ids;
let urls;
let browsers = [];
let failed = true;

before(async () => {
  ({ net, ids, urls } = await shiftNetwork());
  browsers = [await launch(), await launch()];
});

after(async () => {
  for (const b of browsers) await b.close();
  if (net) await net.stop({ failed });
});

async function keyboardPage(browser, url) {
  const page = await openPage(browser, null);
  await page.evaluateOnNewDocument(() => {
    window.__pointer = 0;
    for (const type of ['pointerdown', 'pointerup', 'mousedown', 'mouseup', 'mousemove', 'touchstart']) {
      document.addEventListener(type, () => {
        window.__pointer++;
      }, true);
    }
  });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return page;
}

// What has the focus: its id, or a description.
function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e) return '';
    if (e.id) return `#${e.id}`;
    return e.dataset && e.dataset.id ? `${e.tagName.toLowerCase()}[data-id=${e.dataset.id}]` : e.tagName.toLowerCase();
  });
}

// Presses Tab (Shift+Tab with back) until the focus is on what selector
// names, at most max times; fails otherwise.
async function tabTo(page, selector, { back = false, max = 60 } = {}) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
    if (back) {
      await page.keyboard.down('Shift');
      await page.keyboard.press('Tab');
      await page.keyboard.up('Shift');
    } else {
      await page.keyboard.press('Tab');
    }
  }
  assert.fail(`${selector} never got the focus by keyboard (last: ${await focused(page)})`);
}

// The focused element draws a visible outline.
async function assertFocusVisible(page) {
  const style = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow };
  });
  assert.notEqual(style.style, 'none', `no outline on ${await focused(page)}`);
  assert.ok(style.width >= 2, `a thin outline on ${await focused(page)}`);
}

async function keyboardLogin(page, name) {
  await page.waitForSelector('#login-view:not([hidden])');
  assert.equal(await focused(page), '#login-name', 'the login form takes the focus');
  await page.keyboard.type(name);
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), '#login-password');
  await page.keyboard.type(PASSWORDS[name]);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#list-view:not([hidden])');
  await waitFor(async () => (await syncState(page)) === 'LIVE', 10000, 'LIVE');
  assert.equal(await focused(page), '#list-title', 'the focus goes to the new heading');
}

test('the shift, keyboard only', async (t) => {
  let pl;
  let ph;
  await t.test('both officers log in with the keyboard', async () => {
    pl = await keyboardPage(browsers[0], `${urls.licensing}/console/`);
    ph = await keyboardPage(browsers[1], `${urls['home-office']}/console/`);
    // An empty form: the error names the field and takes the focus there.
    await pl.waitForSelector('#login-view:not([hidden])');
    await tabTo(pl, '#login-submit');
    await pl.keyboard.press('Enter');
    await waitFor(async () => (await text(pl, '#login-error')) === 'Enter your officer name.', 2000, 'the name error');
    assert.equal(await focused(pl), '#login-name');
    await keyboardLogin(pl, 'Lic Duty');
    await keyboardLogin(ph, 'HO Duty');
  });

  await t.test('licensing reaches the overdue alert and opens it', async () => {
    await tabTo(pl, `#alerts-body a.open[data-id="${ids.A}"]`);
    await assertFocusVisible(pl);
    await shot(pl, SHOTS, 'k1-focus-on-the-overdue-alert');
    await pl.keyboard.press('Enter');
    await pl.waitForSelector('#detail-view:not([hidden])');
    assert.equal(await focused(pl), '#detail-title');
  });

  await t.test('Escape closes a dialog and gives the focus back', async () => {
    await tabTo(pl, '#act-decline');
    await pl.keyboard.press('Enter');
    await pl.waitForSelector('#act[open]');
    assert.equal(await focused(pl), '#act-text');
    await pl.keyboard.press('Escape');
    await pl.waitForSelector('#act:not([open])');
    assert.equal(await focused(pl), '#act-decline');
  });

  await t.test("the broker's chain is reached by keyboard and read with the focus on it", async () => {
    await pl.waitForSelector('#chain tbody tr');
    await tabTo(pl, '#chain-wrap');
    await assertFocusVisible(pl);
    const label = await pl.evaluate(() => {
      const wrap = document.activeElement;
      return document.getElementById(wrap.getAttribute('aria-labelledby')).textContent;
    });
    assert.match(label, /earlier alerts the broker linked to this one/);
    await shot(pl, SHOTS, 'k1b-the-chain-by-keyboard');
  });

  await t.test('licensing acknowledges; the Home Office sees it within a second', async () => {
    await tabTo(pl, '#act-ack', { back: true });
    await assertFocusVisible(pl);
    await pl.keyboard.press('Enter');
    await pl.waitForSelector('#act[open]');
    assert.equal(await focused(pl), '#act-text');
    await pl.keyboard.type('Read; licences TL-0417 and others under review');
    await pl.keyboard.press('Tab');
    assert.equal(await focused(pl), '#act-submit');
    await assertFocusVisible(pl);
    await shot(pl, SHOTS, 'k2-acknowledge-by-keyboard');
    await pl.keyboard.press('Enter');
    await pl.waitForFunction(() => /Acknowledged as Lic Duty/.test(document.getElementById('detail-result').textContent));
    const recorded = Date.now();
    await waitFor(async () => ((await listMatrix(ph, ids.A)) || {}).licensing === 'lic+', 1000, 'lic+ at the Home Office', 20);
    process.stderr.write(`# lic+ at the Home Office ${Date.now() - recorded} ms after the acknowledgement\n`);
    assert.equal(await focused(pl), '#detail-title', 'the button went: the focus goes to the heading');
  });

  await t.test('back to the list: the focus returns to the alert it came from', async () => {
    await tabTo(pl, '#back', { back: true });
    await pl.keyboard.press('Enter');
    await pl.waitForSelector('#list-view:not([hidden])');
    assert.equal(await focused(pl), `a[data-id=${ids.A}]`);
  });

  await t.test('decline needs a reason: the error takes the focus to the field', async () => {
    await tabTo(pl, `#alerts-body a.open[data-id="${ids.B}"]`);
    await pl.keyboard.press('Enter');
    await pl.waitForSelector('#detail-view:not([hidden])');
    await tabTo(pl, '#act-decline');
    await pl.keyboard.press('Enter');
    await pl.waitForSelector('#act[open]');
    await pl.keyboard.press('Tab');
    assert.equal(await focused(pl), '#act-submit');
    await pl.keyboard.press('Enter');
    await waitFor(async () => /required/.test(await text(pl, '#act-error')), 2000, 'the reason error');
    assert.equal(await focused(pl), '#act-text');
    assert.equal(await pl.$eval('#act-text', (e) => e.getAttribute('aria-invalid')), 'true');
    await shot(pl, SHOTS, 'k3-decline-needs-a-reason');
    await pl.keyboard.type('Not a licensing matter: no vehicle identified');
    await pl.keyboard.press('Tab');
    await pl.keyboard.press('Enter');
    await pl.waitForFunction(() => /Declined as Lic Duty/.test(document.getElementById('detail-result').textContent));
    const r = net.status('police', ids.B).recipients.find((x) => x.agency === 'licensing');
    assert.equal(r.state, 'declined');
    assert.equal(r.reason, 'Not a licensing matter: no vehicle identified (by Lic Duty)');
  });

  await t.test('share with another agency: the agency chosen with the arrow keys', async () => {
    await tabTo(pl, '#act-share');
    await pl.keyboard.press('Enter');
    await pl.waitForSelector('#act[open]');
    assert.equal(await focused(pl), '#act-to');
    await pl.keyboard.press('ArrowDown');
    const to = await pl.$eval('#act-to', (e) => e.value);
    assert.notEqual(to, '');
    await pl.keyboard.press('Tab');
    await pl.keyboard.type('The sender should know licensing declined');
    await pl.keyboard.press('Tab');
    await pl.keyboard.press('Enter');
    await pl.waitForFunction((agency) => document.getElementById('detail-result').textContent.includes(`Shared with ${agency} as Lic Duty`), {}, to);
    await waitFor(() => net.status('police', ids.B).recipients.some((x) => x.agency === to), 5000, 'the new recipient');
  });

  await t.test('log out with the keyboard', async () => {
    await tabTo(pl, '#logout', { back: true, max: 80 });
    await pl.keyboard.press('Enter');
    await pl.waitForSelector('#login-view:not([hidden])');
    assert.match(await text(pl, '#login-message'), /You have logged out/);
  });

  await t.test('no mouse or pointer event reached either page, and no script error', async () => {
    assert.equal(await pl.evaluate(() => window.__pointer), 0);
    assert.equal(await ph.evaluate(() => window.__pointer), 0);
    assert.deepEqual(await pageProblems(pl), []);
    assert.deepEqual(await pageProblems(ph), []);
  });
  failed = false;
});
