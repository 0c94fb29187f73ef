// browser.mjs — Debian's chromium, headless, driven with puppeteer-core
// (installed by the test command into the build tree: VG_NODE_MODULES).
// Each browser gets a fresh profile and the flags that keep it off the
// network: this machine refuses connections to anything but 127.0.0.1.
// Every page is watched for Content-Security-Policy violations and script
// errors; the tests assert there were none.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const modules = process.env.VG_NODE_MODULES;
if (!modules) throw new Error('set VG_NODE_MODULES to the node_modules the test command installed');
const require = createRequire(path.join(modules, 'package.json'));
export const puppeteer = require('puppeteer-core');
const { AxePuppeteer } = require('@axe-core/puppeteer');

export const CHROMIUM = process.env.VG_CHROMIUM || '/usr/bin/chromium';
export const FIREFOX = process.env.VG_FIREFOX || '/usr/bin/firefox-esr';
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

// Debian's chromium by default; { firefox: true } Debian's firefox-esr
// (puppeteer drives it over WebDriver BiDi, with prefs that keep it off
// the network).
export async function launch({ width = 1280, height = 900, firefox = false } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), firefox ? 'vigil-firefox-' : 'vigil-chromium-'));
  const browser = firefox
    ? await puppeteer.launch({
        browser: 'firefox',
        executablePath: FIREFOX,
        headless: true,
        userDataDir: profile,
        defaultViewport: { width, height },
      })
    : await launchChromium(profile, width, height);
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return browser;
}

function launchChromium(profile, width, height) {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    defaultViewport: { width, height },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-features=Translate,MediaRouter,OptimizationHints',
      `--user-data-dir=${profile}`,
    ],
  });
}

// A page that records console errors, page errors and CSP violations
// (page.problems), and a fake Notification that records what the page
// shows (window.__notes) as if the officer had allowed notifications.
export async function openPage(browser, url) {
  const page = await browser.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.problems.push(`console: ${msg.text()}`);
  });
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
    window.__notes = [];
    class FakeNotification {
      constructor(title, opts) {
        window.__notes.push({ title, body: opts && opts.body, tag: opts && opts.tag });
      }
      static requestPermission() {
        return Promise.resolve('granted');
      }
    }
    FakeNotification.permission = 'granted';
    window.Notification = FakeNotification;
  });
  if (url) await page.goto(url, { waitUntil: 'domcontentloaded' });
  return page;
}

// Problems the page reported (script errors, CSP violations). The gateway
// answers some requests with 401/404 on purpose; the browser logs those as
// console errors ("Failed to load resource"), which are not the page's.
export async function pageProblems(page) {
  const csp = await page.evaluate(() => window.__csp || []);
  return [...page.problems.filter((p) => !/Failed to load resource/.test(p)), ...csp.map((c) => `csp: ${c}`)];
}

// axe-core at WCAG 2.2 AA on what the page shows now: the violations.
export async function axe(page) {
  const r = await new AxePuppeteer(page).withTags(WCAG_TAGS).analyze();
  return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} -> ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export async function shot(page, dir, name) {
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

// The text of an element, or null.
export async function text(page, selector) {
  return page.evaluate((s) => {
    const e = document.querySelector(s);
    return e ? e.textContent : null;
  }, selector);
}

// The visible marks of alert id's ack matrix in the list: {agency: mark}.
export async function listMatrix(page, id) {
  return page.evaluate((alertId) => {
    const out = {};
    const row = document.querySelector(`#alerts-body tr[data-id="${alertId}"]`);
    if (!row) return null;
    for (const li of row.querySelectorAll('.matrix li')) out[li.dataset.agency] = li.querySelector('.mark').textContent;
    return out;
  }, id);
}

// The ids of the list's rows, in order.
export async function listIds(page) {
  return page.evaluate(() => [...document.querySelectorAll('#alerts-body tr')].map((tr) => tr.dataset.id));
}

export async function syncState(page) {
  const t = await text(page, '#sync-text');
  return t ? t.split(' \u2014 ')[0] : null;
}
