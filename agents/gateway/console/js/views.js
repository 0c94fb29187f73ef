// views.js — the console's screens drawn from the model: the sync banner,
// the outstanding list (a table with headers, its ack matrix in text marks
// readable without colour), the live feed, and an alert's detail. Rows and
// feed items are updated in place, so the keyboard focus stays where the
// officer left it while the list changes under it.

import { byId, el, replace, safeLink, setText, vh } from './dom.js';
import {
  CELLS,
  LIVE,
  NO_DATA,
  alertAwaits,
  alertIsOverdue,
  describeEvent,
  describeFilter,
  formatClock,
  formatDue,
  headlineOf,
  matrix,
  parseTime,
  recipientOf,
  renderCell,
  cellOf,
  severityShort,
} from './model.js';

const FEED_SHOWN = 50;

// ---- the header and the banner ----------------------------------------------------------------

export function drawSync(model, now) {
  const s = model.sync;
  const box = byId('sync');
  box.hidden = false;
  box.className = `sync sync-${s.state === LIVE ? 'live' : s.state === NO_DATA ? 'nodata' : 'stale'}`;
  const since = formatClock(s.since);
  let text;
  if (s.state === LIVE) {
    text = `LIVE \u2014 in step with the broker since ${since} UTC`;
  } else {
    text = `${s.state} \u2014 ${s.reason} \u2014 since ${since} UTC`;
  }
  setText(byId('sync-text'), text);
  let extra = '';
  if (s.state === LIVE) {
    extra = `Snapshot and every event since (event #${model.lastSeq}).`;
  } else if (model.hasSnapshot) {
    extra = `What is shown was known at ${formatClock(model.knownAt)} UTC and may be out of date.`;
  } else {
    extra = 'Nothing is known yet.';
  }
  setText(byId('sync-extra'), extra);
  setText(byId('clock'), `${formatClock(now)} UTC`);
}

// ---- the list ------------------------------------------------------------------------------

function matrixList(a, now) {
  return el(
    'ul',
    { class: 'matrix' },
    matrix(a, now).map((c) =>
      el(
        'li',
        { class: `cell cell-${c.cell}${CELLS[c.cell].loud ? ' loud' : ''}`, 'data-agency': c.agency, title: `${c.agency}: ${c.words}` },
        el('span', { class: 'mark', 'aria-hidden': 'true' }, c.text),
        vh(`${c.agency}: ${c.words}`),
      ),
    ),
  );
}

function rowCells(a, model, now) {
  const mine = alertAwaits(a, model.me);
  const sev = severityShort(a.severity);
  return [
    el('td', { class: 'yours' }, mine ? [el('span', { 'aria-hidden': 'true' }, '*'), vh(`${model.me} must acknowledge`)] : ''),
    el('td', { class: `sev sev-${a.severity}` }, sev),
    el('td', {}, a.sender),
    el('td', { class: 'headline' }, el('a', { href: `#/alert/${a.id}`, class: 'open', 'data-id': a.id }, headlineOf(a))),
    el('td', {}, a.categories.join(', ')),
    el('td', {}, matrixList(a, now)),
    el('td', { class: 'due' }, formatDue(a, now)),
  ];
}

// A row's text, to redraw only rows that changed.
function rowKey(a, model, now) {
  return JSON.stringify([
    alertAwaits(a, model.me),
    a.severity,
    a.sender,
    headlineOf(a),
    a.categories,
    matrix(a, now).map((c) => c.text),
    formatDue(a, now),
  ]);
}

export function drawList(model, filter, now) {
  const body = byId('alerts-body');
  const list = model.list(filter, now);
  const rows = new Map([...body.children].map((tr) => [tr.dataset.id, tr]));
  const active = document.activeElement;
  const focusedId = active && body.contains(active) ? active.dataset.id : null;
  const wanted = [];
  for (const a of list) {
    let tr = rows.get(a.id);
    const key = rowKey(a, model, now);
    if (!tr) {
      tr = el('tr', { 'data-id': a.id });
      rows.set(a.id, tr);
    }
    if (tr.dataset.key !== key) {
      tr.dataset.key = key;
      tr.className = alertIsOverdue(a, now) ? 'overdue' : '';
      const cells = rowCells(a, model, now);
      if (tr.children.length === cells.length) {
        // Redraw only the cells that changed (the due time ticks every
        // second): the link an officer is about to click, or has focused,
        // stays the same element.
        [...tr.children].forEach((old, i) => {
          const td = cells[i];
          if (old.isEqualNode(td) || old.contains(document.activeElement)) return;
          old.replaceWith(td);
        });
      } else {
        tr.replaceChildren(...cells);
      }
    }
    wanted.push(tr);
  }
  const current = [...body.children];
  const same = current.length === wanted.length && current.every((tr, i) => tr === wanted[i]);
  if (!same) {
    body.replaceChildren(...wanted);
    if (focusedId) {
      const again = body.querySelector(`a.open[data-id="${focusedId}"]`);
      if (again && document.activeElement !== again) again.focus();
    }
  }
  const counts = model.counts(now);
  const trusted = model.sync.state === LIVE;
  setText(
    byId('counts'),
    `${trusted ? '' : 'As last known: '}open ${counts.open} \u00b7 overdue ${counts.overdue} \u00b7 escalated ${counts.escalated} \u00b7 filter: ${describeFilter(filter)}`,
  );
  setText(byId('alerts-caption'), `Alerts that concern ${model.me}, overdue first: ${list.length} shown`);
  const empty = byId('list-empty');
  empty.hidden = list.length > 0;
  if (list.length === 0) {
    if (!trusted) {
      setText(empty, `Cannot say what is outstanding: the console is ${model.sync.state} (${model.sync.reason}).`);
    } else if (describeFilter(filter) !== 'none') {
      setText(empty, 'No outstanding alert matches the filter.');
    } else {
      setText(empty, `Nothing outstanding for ${model.me}: the broker vouches for it as of event #${model.lastSeq}.`);
    }
  }
  const off = byId('offline');
  off.hidden = model.offline.size === 0;
  setText(off, [...model.offline].map(([ag, n]) => `${ag} OFFLINE with ${n} waiting`).join('; '));
}

export function drawLegend() {
  const ul = byId('legend-list');
  if (ul.children.length > 0) return;
  for (const [name, c] of Object.entries(CELLS)) {
    ul.append(el('li', {}, el('code', {}, renderCell('licensing', name)), ` ${c.words}${c.loud ? ' (capitals: needs action)' : ''}`));
  }
}

export function drawFeed(model) {
  const ol = byId('feed');
  const shown = model.feed.slice(0, FEED_SHOWN);
  const have = new Map([...ol.children].map((li) => [li.dataset.seq, li]));
  const items = shown.map((e) => {
    const key = String(e.seq);
    const text = `${formatClock(parseTime(e.time))} ${e.alert_id ? e.alert_id.slice(0, 8) : '--------'} ${describeEvent(model, e)}`;
    let li = have.get(key);
    if (!li) li = el('li', { 'data-seq': key });
    setText(li, text);
    return li;
  });
  const current = [...ol.children];
  if (current.length !== items.length || current.some((li, i) => li !== items[i])) {
    ol.replaceChildren(...items);
  }
}

// ---- the detail view -----------------------------------------------------------------------------

function dl(pairs) {
  return el(
    'dl',
    { class: 'facts' },
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
  );
}

function when(ms) {
  return ms > 0 ? `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC` : '-';
}

function contentSection(a, detail) {
  const c = detail && detail.alert;
  if (!c) {
    const why = detail ? detail.open_error : 'fetching the alert\u2026';
    return [el('h2', {}, 'The alert'), el('p', { class: 'sealed' }, `Its content cannot be shown: ${why || 'sealed'}.`)];
  }
  const areas = (c.areas || []).map((x) => x.desc + ((x.geocodes || []).length ? ` (${x.geocodes.join(', ')})` : ''));
  const subjects = (c.subjects || []).filter((s) => !String(s.scheme).startsWith('cap.')).map((s) => `${s.scheme} ${s.value}`);
  return [
    el('h2', {}, 'The alert'),
    dl([
      ['Headline', c.headline],
      ['Event', c.event],
      ['Description', c.description],
      ['Instruction', c.instruction],
      ['Areas', areas.join('; ')],
      ['Incidents', (c.incidents || []).join(', ')],
      ['Subjects', subjects.join('; ')],
      ['References', (c.references || []).join(', ')],
      ['Expires', c.expires],
      ['Written by', c.sender_name],
      ['Contact', c.contact],
      ['Web', c.web ? safeLink(c.web) : null],
      ['Language', c.language],
    ]),
  ];
}

function facts(a) {
  return dl([
    ['Alert id', el('code', {}, a.id)],
    ['From', a.sender],
    ['Sent', when(a.sentMs)],
    ['Accepted by the broker', when(a.acceptedMs)],
    ['Severity', a.severity],
    ['Urgency', a.urgency],
    ['Status', a.status],
    ['Message type', a.msg_type],
    ['Categories', a.categories.join(', ')],
  ]);
}

function recipientsTable(a, now) {
  const rows = a.recipients.map((r) => {
    const cell = cellOf(r, now);
    const late = r.deadlineMs > 0 && r.state !== 'acknowledged' && now > r.deadlineMs ? ' (passed)' : '';
    const ack = r.acknowledgedMs ? `${when(r.acknowledgedMs)}${r.officer ? ` by ${r.officer}` : ''}` : r.state === 'acknowledged' ? `by ${r.officer || '?'}` : 'not acknowledged';
    return el(
      'tr',
      { 'data-agency': r.agency },
      el('th', { scope: 'row' }, r.agency),
      el('td', { class: `cell cell-${cell}${CELLS[cell].loud ? ' loud' : ''}` }, el('span', { class: 'mark' }, r.required ? renderCell(r.agency, cell) : `${renderCell(r.agency, cell)} (optional)`)),
      el('td', {}, CELLS[cell].words),
      el('td', {}, r.deadlineMs ? `${when(r.deadlineMs)}${late}` : '-'),
      el('td', {}, when(r.deliveredMs)),
      el('td', { class: 'acked' }, ack),
      el('td', {}, [r.note ? `Note: ${r.note}` : '', r.note && r.reason ? '; ' : '', r.reason ? `Reason: ${r.reason}` : ''].join('') || '-'),
      el('td', {}, `${r.missed_deadline ? 'missed a deadline; ' : ''}level ${r.escalation_level}${r.shared_by ? `; added by ${r.shared_by}'s share` : ''}`),
    );
  });
  return [
    el('h2', {}, 'Each agency'),
    el(
      'div',
      { class: 'table-wrap', id: 'recipients-wrap', role: 'region', 'aria-labelledby': 'recipients-caption', tabindex: '0' },
      el(
        'table',
        { class: 'recipients', id: 'recipients' },
        el('caption', { id: 'recipients-caption' }, 'Where each agency stands, with its officer and note'),
        el('thead', {}, el('tr', {}, ['Agency', 'Mark', 'State', 'Deadline', 'Delivered', 'Acknowledged', 'Note or reason', 'Escalation'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows),
      ),
    ),
  ];
}

function eventsSection(model, a) {
  const evs = model.eventsOf(a.id);
  return [
    el('h2', {}, 'What this console saw'),
    evs.length
      ? el('ol', { class: 'feed-list' }, evs.map((e) => el('li', {}, `${formatClock(parseTime(e.time))} ${describeEvent(model, e)}`)))
      : el('p', {}, 'No events about this alert since this console started.'),
  ];
}

function sharesSection(a) {
  if (a.shares.length === 0) return [el('h2', {}, 'Shared'), el('p', {}, 'Nobody has shared this alert with another agency.')];
  return [
    el('h2', {}, 'Shared'),
    el(
      'ul',
      { class: 'shares' },
      a.shares.map((s) => el('li', {}, `${s.sharer || 'an agency'} shared it with ${s.to}${s.timeMs ? ` at ${when(s.timeMs)}` : ''}: ${s.reason || '(this agency cannot see the reason)'}`)),
    ),
  ];
}

// What a required agency did with an earlier linked alert, in words (the
// broker's LinkOutcome; docs/network.md "What each agency is told").
const OUTCOME_WORDS = {
  acknowledged: 'acknowledged in time',
  late: 'acknowledged late',
  never: 'NEVER acknowledged',
  open: 'not yet: still within its deadline',
};

// The broker's chain: the earlier alerts it linked to this one by their
// link tags, as this agency may know them — the id and date only of those
// it was a party to, and for every one whether each required agency
// acknowledged, was late or never did. The same as `vigil-agent status ID`.
function chainSection(model, detail) {
  const head = el('h2', { id: 'chain-title' }, "The broker's chain: earlier warnings about the same subject");
  if (!detail) return [head, el('p', {}, 'Fetching\u2026')];
  const chain = (detail.status && detail.status.linked) || [];
  if (chain.length === 0) return [head, el('p', { id: 'chain-none' }, 'The broker links no earlier alert to this one.')];
  const missed = new Map(); // agency -> {never, late, open}
  const rows = chain.map((l, i) => {
    const outcomes = Object.entries(l.outcomes || {});
    for (const [agency, o] of outcomes) {
      if (o === 'acknowledged') continue;
      const m = missed.get(agency) || { never: 0, late: 0, open: 0 };
      if (o in m) m[o]++;
      missed.set(agency, m);
    }
    const id = l.alert;
    const alertCell = !id
      ? 'not sent to this agency'
      : model.alerts.has(id)
        ? el('a', { href: `#/alert/${id}` }, el('code', {}, id))
        : el('code', {}, id);
    return el(
      'tr',
      { 'data-id': id || null, 'data-index': String(i + 1) },
      el('th', { scope: 'row' }, `${i + 1}`),
      el('td', {}, alertCell),
      el('td', {}, l.accepted ? when(parseTime(l.accepted)) : 'not sent to this agency'),
      el(
        'td',
        {},
        el(
          'ul',
          { class: 'outcomes' },
          outcomes.length
            ? outcomes.map(([agency, o]) => el('li', { class: `outcome-${o}`, 'data-agency': agency }, `${agency}: ${OUTCOME_WORDS[o] || o}`))
            : el('li', {}, 'no agency had to act on it'),
        ),
      ),
    );
  });
  const summary = [];
  for (const [agency, m] of missed) {
    if (m.never) summary.push(`${agency} never acknowledged ${m.never} of them`);
    if (m.late) summary.push(`${agency} acknowledged ${m.late} of them late`);
    if (m.open) summary.push(`${agency} has ${m.open} of them still open`);
  }
  const loud = [...missed.values()].some((m) => m.never > 0);
  return [
    head,
    el('p', { id: 'chain-count' }, `${chain.length} earlier alert${chain.length === 1 ? '' : 's'} about the same subject, oldest first.`),
    el(
      'div',
      { class: 'table-wrap', id: 'chain-wrap', role: 'region', 'aria-labelledby': 'chain-caption', tabindex: '0' },
      el(
        'table',
        { class: 'chain', id: 'chain' },
        el('caption', { id: 'chain-caption' }, 'The earlier alerts the broker linked to this one, and what each agency that had to act on them did'),
        el('thead', {}, el('tr', {}, ['#', 'Alert', 'Accepted by the broker', 'Each required agency'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows),
      ),
    ),
    el('p', { id: 'chain-summary', class: loud ? 'chain-never' : null }, summary.length ? `${summary.join('; ')}.` : 'Every required agency acknowledged every earlier alert of the chain in time.'),
  ];
}

function linkedStanding(l) {
  if (!l.recipients) return `where it stands is unknown: ${l.tracking || 'the broker does not say'}`;
  const parts = l.recipients
    .filter((r) => r.required)
    .map((r) => {
      const cell = r.state === 'acknowledged' ? 'acknowledged' : r.state === 'declined' ? 'declined' : r.state === 'unopenable' ? 'unopenable' : r.late || r.missed_deadline ? 'overdue' : r.state;
      const who = r.state === 'acknowledged' ? ` by ${r.officer || '?'}` : r.missed_deadline ? ' \u2014 never acknowledged in time' : ' \u2014 not acknowledged';
      return `${renderCell(r.agency, CELLS[cell] ? cell : 'pending')} ${r.agency}${who}`;
    });
  return `${l.complete ? 'complete' : 'open'}: ${parts.join('; ')}`;
}

function linkedSection(model, detail) {
  const links = (detail && detail.linked) || [];
  const head = el('h2', {}, 'Linked alerts: the same incident, subject or reference');
  if (!detail) return [head, el('p', {}, 'Fetching\u2026')];
  if (links.length === 0) return [head, el('p', {}, 'No other alert this agency received names the same incident or subject.')];
  const rows = links.map((l) =>
    el(
      'tr',
      { 'data-id': l.id },
      el('td', {}, (l.relations || []).join('; ')),
      el('td', {}, model.alerts.has(l.id) ? el('a', { href: `#/alert/${l.id}` }, l.headline || l.id.slice(0, 8)) : l.headline || el('code', {}, l.id)),
      el('td', {}, l.sender || '?'),
      el('td', {}, l.sent ? when(parseTime(l.sent)) : '?'),
      el('td', { class: 'standing' }, linkedStanding(l)),
    ),
  );
  return [
    head,
    el(
      'div',
      { class: 'table-wrap', id: 'linked-wrap', role: 'region', 'aria-labelledby': 'linked-caption', tabindex: '0' },
      el(
        'table',
        { class: 'linked', id: 'linked' },
        el('caption', { id: 'linked-caption' }, 'Earlier and later warnings about the same thing, newest first, and who did or did not acknowledge them'),
        el('thead', {}, el('tr', {}, ['Linked by', 'Alert', 'From', 'Sent', 'Where it stands'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows),
      ),
    ),
  ];
}

// The detail of alert a (held by the model); detail is the gateway's
// /detail answer, or null while it is fetched.
export function drawDetail(model, a, detail, now) {
  setText(byId('detail-title'), headlineOf(a) === 'sealed' ? `Alert ${a.id.slice(0, 8)} (sealed)` : headlineOf(a));
  const mine = recipientOf(a, model.me);
  const cells = matrix(a, now).map((c) => c.text).join(' ');
  setText(
    byId('detail-standing'),
    `${a.complete ? 'Complete' : alertIsOverdue(a, now) ? 'OVERDUE' : 'Open'} \u00b7 ${formatDue(a, now)} \u00b7 ${cells}${mine ? ` \u00b7 ${model.me}: ${CELLS[cellOf(mine, now)].words}` : ''}`,
  );
  // Redrawn only when what it shows changed, so the focus stays put.
  const key = JSON.stringify([
    a.id,
    a.recipients.map((r) => [r.state, cellOf(r, now), r.officer, r.note, r.reason, r.deadlineMs, r.escalation_level]),
    a.shares,
    detail ? detail.fetchedAt : 0,
    model.eventsOf(a.id).length,
  ]);
  const body = byId('detail-body');
  if (body.dataset.key === key) return;
  body.dataset.key = key;
  const focused = body.contains(document.activeElement) ? document.activeElement.id : null;
  replace(body, facts(a), contentSection(a, detail), recipientsTable(a, now), chainSection(model, detail), sharesSection(a), linkedSection(model, detail), eventsSection(model, a));
  if (focused && byId(focused)) byId(focused).focus();
}
