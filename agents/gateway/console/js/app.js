// app.js — the duty officer's web console: logging in, the screens, the
// officer's actions and attention. The state comes from model.js, kept in
// step with the gateway by link.js; views.js draws it.
//
// Keyboard only, from login to acknowledgement: every control is a native
// link, button or form field in reading order; dialogs are native <dialog>s
// (focus stays inside, Esc closes, focus goes back where it was). No
// single-key shortcuts (WCAG 2.1.4). The focus moves to the new heading
// when the view changes.

import { Api, problemText } from './api.js';
import { byId, el, replace, setText } from './dom.js';
import { Link } from './link.js';
import { LIVE, Model, emptyFilter, headlineOf, recipientOf } from './model.js';
import { drawDetail, drawFeed, drawLegend, drawList, drawSync } from './views.js';

const api = new Api();

const VERBS = {
  ack: {
    title: 'Acknowledge',
    label: 'Note (optional)',
    required: false,
    done: 'Acknowledged',
    desc: (who) => `You acknowledge that you have read this alert. The signed receipt names you: ${who}.`,
  },
  progress: {
    title: 'Report in progress',
    label: 'What is being done (required)',
    required: true,
    done: 'Reported in progress',
    desc: (who) => `This agency's deadline is extended once. Every agency sees the reason, ending "(by ${who})".`,
  },
  decline: {
    title: 'Decline',
    label: 'Why this agency will not act (required)',
    required: true,
    done: 'Declined',
    desc: (who) => `Declining is escalated like an overdue alert. Every agency sees the reason, ending "(by ${who})".`,
  },
  share: {
    title: 'Share with another agency',
    label: 'Why it should see this (required)',
    required: true,
    done: 'Shared',
    desc: (who) => `The agency becomes a required recipient with its own deadline. The reason ends "(by ${who})".`,
  },
};

const st = {
  session: null, // GET /v1/session's answer
  model: null,
  link: null,
  filter: emptyFilter(),
  route: { view: 'list', id: null },
  details: new Map(), // alert id -> /detail answer
  act: null, // the open action: {verb, id, opener}
  attention: null, // the attention shown: text
  lastActivity: 0, // the officer pressed a key or the pointer
  keepaliveAt: 0, // when the session's idle time last started again (local)
  idleLeftMs: 0, // as the gateway said then
  busyKeepalive: false,
  timer: null,
};

const now = () => Date.now();

// ---- views --------------------------------------------------------------------------------------

function show(view) {
  for (const v of ['boot-view', 'login-view', 'list-view', 'detail-view']) byId(v).hidden = v !== view;
}

function focusHeading(id) {
  const h = byId(id);
  if (h) h.focus();
}

function normalTitle() {
  const m = st.model;
  if (!m) return 'Log in \u2014 vigil console';
  const c = m.counts(now());
  const sync = m.sync.state === LIVE ? '' : ` \u2014 ${m.sync.state}`;
  return `${c.overdue ? `(${c.overdue} overdue) ` : ''}vigil console \u2014 ${m.me}${sync}`;
}

function render() {
  const m = st.model;
  if (!m) return;
  const t = now();
  drawSync(m, t);
  const raised = m.takeAttention();
  if (raised.length > 0) announce(raised);
  document.title = st.attention ? `Attention: ${st.attention} \u2014 vigil console` : normalTitle();
  if (st.route.view === 'detail') {
    const a = m.alerts.get(st.route.id);
    if (a) {
      drawDetail(m, a, st.details.get(a.id) || null, t);
      drawActions(a);
    } else {
      setText(byId('detail-title'), `Alert ${st.route.id.slice(0, 8)}`);
      setText(byId('detail-standing'), 'This console does not hold this alert (yet).');
    }
  } else {
    drawList(m, st.filter, t);
    drawFeed(m);
  }
}

// ---- attention ------------------------------------------------------------------------------------

// A new critical or newly overdue alert: said once, in the live region, the
// title, the banner and (when allowed) a desktop notification each.
function announce(raised) {
  const text = raised.map((a) => a.text).join('; ');
  st.attention = text;
  const region = byId('announce');
  region.textContent = '';
  setTimeout(() => {
    region.textContent = `Attention: ${text}`; // a change, so it is read even if the same
  }, 50);
  byId('attention').hidden = false;
  setText(byId('attention-text'), text);
  document.title = `Attention: ${text} \u2014 vigil console`;
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  for (const a of raised) {
    try {
      // What the banner says: the alert's id, agencies and severity, never
      // its content (the desktop may keep notifications).
      new Notification('vigil: attention', { body: a.text, tag: a.key });
    } catch {
      /* a browser that refuses notifications still has the banner and the title */
    }
  }
}

function dismissAttention() {
  st.attention = null;
  byId('attention').hidden = true;
  document.title = normalTitle();
  byId('main').focus();
}

// ---- the detail view's actions -----------------------------------------------------------------

function drawActions(a) {
  const box = byId('detail-actions');
  const me = st.model.me;
  const r = recipientOf(a, me);
  let key;
  if (st.session.role !== 'duty') key = 'viewer';
  else if (!r) key = 'none';
  else key = `duty:${r.state}`;
  if (box.dataset.key === key && box.dataset.id === a.id) return;
  box.dataset.key = key;
  box.dataset.id = a.id;
  if (key === 'viewer') {
    replace(box, el('p', { class: 'note' }, 'You are logged in as a viewer: you can read, not act.'));
    return;
  }
  if (key === 'none') {
    replace(box, el('p', { class: 'note' }, `${me} follows this alert but is not one of its recipients: only they can acknowledge it or share it.`));
    return;
  }
  const buttons = [];
  const add = (verb) => buttons.push(el('button', { type: 'button', id: `act-${verb}`, on: { click: (e) => openAction(verb, a.id, e.currentTarget) } }, VERBS[verb].title));
  if (r.state !== 'acknowledged') add('ack');
  if (r.state !== 'acknowledged' && r.state !== 'declined' && r.state !== 'in_progress') add('progress');
  if (r.state !== 'acknowledged' && r.state !== 'declined') add('decline');
  add('share');
  // The buttons change with the state: a focused one that is still there
  // keeps the focus, else it goes to the heading, never to nowhere.
  const had = box.contains(document.activeElement) ? document.activeElement.id : null;
  replace(box, buttons);
  if (had) {
    if (byId(had)) byId(had).focus();
    else focusHeading('detail-title');
  }
  if (st.act && st.act.opener && !document.body.contains(st.act.opener)) st.act.opener = byId(st.act.opener.id);
}

// Agencies it can be shared with: not revoked, not already recipients,
// neither this agency nor the sender.
function shareTargets(a) {
  const listed = new Set(a.recipients.map((r) => r.agency));
  return st.model.agencies.filter((g) => !g.revoked && g.id !== st.model.me && g.id !== a.sender && !listed.has(g.id));
}

function openAction(verb, id, opener) {
  const a = st.model.alerts.get(id);
  if (!a) return;
  const v = VERBS[verb];
  st.act = { verb, id, opener };
  setText(byId('act-title'), `${v.title}: ${headlineOf(a)}`);
  setText(byId('act-desc'), v.desc(st.session.officer));
  setText(byId('act-text-label'), v.label);
  setText(byId('act-submit'), v.title);
  const text = byId('act-text');
  text.value = '';
  text.required = v.required;
  text.removeAttribute('aria-invalid');
  const err = byId('act-error');
  err.hidden = true;
  err.textContent = '';
  const toField = byId('act-to-field');
  toField.hidden = verb !== 'share';
  const to = byId('act-to');
  to.removeAttribute('aria-invalid');
  if (verb === 'share') {
    replace(
      to,
      el('option', { value: '' }, 'Choose an agency'),
      shareTargets(a).map((g) => el('option', { value: g.id }, g.name ? `${g.name} (${g.id})` : g.id)),
    );
  }
  byId('act-submit').disabled = false;
  byId('act').showModal();
  (verb === 'share' ? to : text).focus();
}

function closeAction() {
  const act = st.act;
  st.act = null;
  const dlg = byId('act');
  if (dlg.open) dlg.close();
  if (act && act.opener && document.body.contains(act.opener)) act.opener.focus();
  else focusHeading('detail-title');
}

function actionError(text, field) {
  const err = byId('act-error');
  err.hidden = false;
  err.textContent = text;
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

async function submitAction(ev) {
  ev.preventDefault();
  const act = st.act;
  if (!act) return;
  const v = VERBS[act.verb];
  const text = byId('act-text').value.trim();
  const to = byId('act-to');
  if (act.verb === 'share' && to.value === '') {
    actionError('Choose the agency to share it with.', to);
    return;
  }
  if (v.required && text === '') {
    actionError(`${v.label.replace(' (required)', '')}: this is required.`, byId('act-text'));
    return;
  }
  const body = act.verb === 'ack' ? (text ? { note: text } : {}) : { reason: text };
  if (act.verb === 'share') body.to = to.value;
  byId('act-submit').disabled = true;
  const r = await api.receipt(act.id, act.verb, body);
  byId('act-submit').disabled = false;
  if (r.status === 401) {
    closeAction();
    endSession(problemText(r));
    return;
  }
  if (!r.ok) {
    actionError(`Not done: ${problemText(r)}`, null);
    return;
  }
  const dup = r.body.duplicate ? ' (it already was)' : '';
  const target = act.verb === 'share' ? ` with ${body.to}` : '';
  closeAction();
  setText(byId('detail-result'), `${v.done}${target} as ${st.session.officer}${dup}. Alert ${act.id.slice(0, 8)}.`);
  st.link.refresh(act.id);
  fetchDetail(act.id);
}

async function fetchDetail(id) {
  const r = await api.detail(id);
  if (!st.model) return;
  if (r.ok) {
    const d = { ...r.body, fetchedAt: now() };
    st.details.set(id, d);
    if (!st.model.alerts.has(id) && d.status) st.model.applyStatus(d.status);
    st.model.applyDetail(id, d);
  } else if (r.status === 401) {
    endSession(problemText(r));
    return;
  } else {
    st.details.set(id, { alert: null, open_error: problemText(r), linked: [], shares: [], fetchedAt: now() });
  }
  render();
}

// ---- routes ----------------------------------------------------------------------------------

function route() {
  if (!st.model) return;
  const m = /^#\/alert\/([0-9a-f]{32})$/.exec(window.location.hash);
  const from = st.route;
  if (m) {
    st.route = { view: 'detail', id: m[1] };
    show('detail-view');
    setText(byId('detail-result'), '');
    byId('detail-body').dataset.key = '';
    byId('detail-actions').dataset.key = '';
    render();
    focusHeading('detail-title');
    fetchDetail(m[1]);
  } else {
    st.route = { view: 'list', id: null };
    show('list-view');
    render();
    const back = from.view === 'detail' ? document.querySelector(`#alerts-body a.open[data-id="${from.id}"]`) : null;
    if (back) back.focus();
    else focusHeading('list-title');
  }
}

// ---- sessions -----------------------------------------------------------------------------------

// The login form; after a logout the name goes too (the next officer at
// this desk types their own), after a session ended it stays.
function showLogin(message, { keepName = false } = {}) {
  st.session = null;
  if (!keepName) byId('login-name').value = '';
  byId('who').hidden = true;
  byId('sync').hidden = true;
  byId('attention').hidden = true;
  show('login-view');
  setText(byId('login-message'), message || '');
  setText(byId('login-error'), '');
  byId('login-password').value = '';
  document.title = 'Log in \u2014 vigil console';
  byId('login-name').focus();
}

function startConsole(session) {
  st.session = session;
  st.model = new Model(session.agency, {}, now());
  st.details.clear();
  st.attention = null;
  st.keepaliveAt = now();
  st.idleLeftMs = session.idle_left_s * 1000;
  byId('who').hidden = false;
  const role = session.role === 'duty' ? 'duty officer' : 'viewer (reads only)';
  setText(byId('who-text'), `${session.agency} \u00b7 ${session.officer}, ${role}${session.sso ? ' (single sign-on)' : ''}`);
  setText(byId('list-title'), `Outstanding alerts for ${session.agency}`);
  byId('notify').hidden = !('Notification' in window) || Notification.permission !== 'default';
  st.link = new Link(api, st.model, { onChange: render, onSessionEnded: endSession, onNotice: showNotice });
  st.link.start();
  drawLegend();
  if (!window.location.hash) window.location.hash = '#/';
  route();
}

// The gateway's own notices (a webhook in alarm, recovered): shown as
// they come, never dropped.
function showNotice(data) {
  let n = {};
  try {
    n = JSON.parse(data);
  } catch {
    n = { kind: 'notice', detail: String(data) };
  }
  const what = n.kind === 'webhook_alarm' ? 'a webhook is failing' : n.kind === 'webhook_recovered' ? 'a webhook works again' : n.kind;
  const p = byId('gateway-notice');
  p.hidden = false;
  setText(p, `The gateway says: ${what}${n.webhook ? ` (${n.webhook})` : ''} at ${new Date().toISOString().slice(11, 19)} UTC.`);
}

function stopConsole() {
  if (st.link) st.link.stop();
  st.link = null;
  st.model = null;
  const t = byId('timeout');
  if (t.open) t.close();
  if (byId('act').open) byId('act').close();
}

function endSession(why) {
  if (!st.model) return;
  stopConsole();
  showLogin(`You were logged out: ${why}. Log in again to go on.`, { keepName: true });
}

async function logout() {
  await api.logout();
  stopConsole();
  window.history.replaceState(null, '', '#/'); // the next officer starts at the list
  showLogin('You have logged out.');
}

async function login(ev) {
  ev.preventDefault();
  const name = byId('login-name');
  const pw = byId('login-password');
  const err = byId('login-error');
  name.removeAttribute('aria-invalid');
  pw.removeAttribute('aria-invalid');
  if (name.value.trim() === '' || pw.value === '') {
    const field = name.value.trim() === '' ? name : pw;
    field.setAttribute('aria-invalid', 'true');
    setText(err, field === name ? 'Enter your officer name.' : 'Enter your password.');
    field.focus();
    return;
  }
  byId('login-submit').disabled = true;
  const r = await api.login(name.value.trim(), pw.value);
  byId('login-submit').disabled = false;
  pw.value = '';
  if (!r.ok) {
    pw.setAttribute('aria-invalid', 'true');
    setText(err, `Not logged in: ${problemText(r)}`);
    pw.focus();
    return;
  }
  setText(err, '');
  setText(byId('login-message'), '');
  startConsole(r.body);
}

// The session ends after session_idle without the officer: a key or the
// pointer counts, and a keepalive says so at most every minute; two
// minutes before it would end the officer is asked (WCAG 2.2.1).
async function idleCheck() {
  if (!st.model || st.busyKeepalive) return;
  const t = now();
  const idleMs = st.session.idle_timeout_s * 1000;
  const every = Math.min(60000, idleMs / 4);
  const warnMs = Math.min(120000, idleMs / 2);
  const left = st.keepaliveAt + st.idleLeftMs - t;
  const dlg = byId('timeout');
  if (st.lastActivity > st.keepaliveAt && t - st.keepaliveAt >= every && !dlg.open) {
    await keepalive();
    return;
  }
  if (left < warnMs && left > 0 && !dlg.open && !byId('act').open) {
    setText(byId('timeout-text'), `Nothing was done here for a while: you will be logged out in about ${Math.ceil(left / 1000)} seconds.`);
    dlg.showModal();
    byId('timeout-stay').focus();
  }
}

async function keepalive() {
  st.busyKeepalive = true;
  const r = await api.keepalive();
  st.busyKeepalive = false;
  if (r.ok) {
    st.keepaliveAt = now();
    st.idleLeftMs = r.body.idle_left_s * 1000;
  } else if (r.status === 401) {
    endSession(problemText(r));
  }
}

// ---- wiring ---------------------------------------------------------------------------------------

function wire() {
  byId('login-form').addEventListener('submit', login);
  byId('logout').addEventListener('click', logout);
  byId('attention-dismiss').addEventListener('click', dismissAttention);
  byId('notify').addEventListener('click', async () => {
    const p = await Notification.requestPermission();
    byId('notify').hidden = p !== 'default';
  });
  const refilter = () => {
    st.filter = { overdueOnly: byId('f-overdue').checked, minSeverity: byId('f-sev').value, text: byId('f-text').value };
    render();
  };
  byId('f-overdue').addEventListener('change', refilter);
  byId('f-sev').addEventListener('change', refilter);
  byId('f-text').addEventListener('input', refilter);
  byId('filters').addEventListener('submit', (e) => e.preventDefault());
  byId('f-clear').addEventListener('click', () => {
    byId('f-overdue').checked = false;
    byId('f-sev').value = '';
    byId('f-text').value = '';
    refilter();
  });
  byId('act-form').addEventListener('submit', submitAction);
  byId('act-cancel').addEventListener('click', closeAction);
  byId('act').addEventListener('cancel', (e) => {
    e.preventDefault();
    closeAction();
  });
  byId('timeout-stay').addEventListener('click', async () => {
    st.lastActivity = now();
    await keepalive();
    byId('timeout').close();
  });
  byId('timeout-logout').addEventListener('click', () => {
    byId('timeout').close();
    logout();
  });
  window.addEventListener('hashchange', route);
  for (const evname of ['keydown', 'pointerdown']) {
    document.addEventListener(evname, () => {
      st.lastActivity = now();
    });
  }
  st.timer = setInterval(() => {
    if (st.model) render();
    idleCheck();
  }, 1000);
}

async function boot() {
  wire();
  const r = await api.session();
  if (r.ok) {
    startConsole(r.body);
  } else {
    const ended = r.body.code === 'session_expired' || r.body.code === 'session_ended';
    showLogin(ended || (r.status !== 401 && r.status !== 0) ? problemText(r) : '');
  }
}

boot();
