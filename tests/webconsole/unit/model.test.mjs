// model.test.mjs — the web console's model (agents/gateway/console/js/model.js)
// under Node's test runner: sequence checks and gaps, the ack-matrix cells
// and their text marks, the order of the list, snapshot plus events,
// attention once, filters, and the sync state it may show. No browser, no
// network: `node --test tests/webconsole/unit/`.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  BACKFILL,
  LIVE,
  Model,
  NO_DATA,
  SILENCE_MS,
  STALE,
  abbrev,
  alertDueMs,
  cellOf,
  describeEvent,
  describeFilter,
  emptyLink,
  formatDue,
  formatDuration,
  matrix,
  normalizeStatus,
  renderCell,
  seqCheck,
  syncFor,
  takeHeartbeat,
} from '../../../agents/gateway/console/js/model.js';

const T0 = Date.parse('2026-11-29T10:00:00.000Z');
const iso = (ms) => new Date(ms).toISOString();
const ID_A = 'a'.repeat(32);
const ID_B = 'b'.repeat(32);
const ID_C = 'c'.repeat(32);

function rcpt(agency, state, deadlineMs, extra = {}) {
  return {
    agency,
    state,
    required: true,
    deadline: deadlineMs ? iso(deadlineMs) : null,
    overdue: false,
    overdue_ms: 0,
    missed_deadline: false,
    delivered: null,
    acknowledged: null,
    officer: null,
    note: null,
    reason: null,
    escalation_level: 0,
    shared_by: null,
    ...extra,
  };
}

function status(id, recipients, extra = {}) {
  return {
    id,
    sender: 'home-office',
    sent: iso(T0),
    accepted: iso(T0),
    severity: 'high',
    urgency: 'unknown',
    status: 'actual',
    msg_type: 'alert',
    categories: ['taxi'],
    complete: false,
    headline: `headline ${id.slice(0, 4)}`,
    sealed: false,
    overdue: false,
    earliest_open_deadline: null,
    recipients,
    ...extra,
  };
}

function ev(seq, kind, extra = {}) {
  return { seq, time: iso(T0 + seq * 1000), kind, alert_id: ID_A, sender: 'home-office', severity: 'high', agency: 'licensing', detail: '', count: 0, level: 0, ...extra };
}

function snap(seq, alerts, extra = {}) {
  return { agency: 'licensing', last_event_seq: seq, alerts, agencies: [], ...extra };
}

// A model that applied a snapshot at seq and consumed the stream up to it
// (the backfill before it came in already).
function inStep(me, seq, alerts, opts = {}) {
  const m = new Model(me, opts, T0);
  m.applySnapshot(snap(seq, alerts), T0);
  m.lastSeq = seq;
  return m;
}

describe('sequence numbers', () => {
  test('the next one is consumed, older ones are duplicates, a skip is a gap', () => {
    assert.equal(seqCheck(41, 42), 'next');
    assert.equal(seqCheck(41, 41), 'dup');
    assert.equal(seqCheck(41, 3), 'dup');
    assert.equal(seqCheck(41, 43), 'gap');
    assert.equal(seqCheck(0, 1), 'next');
  });

  test('a gap turns the state STALE, is not consumed, and asks for a refetch', () => {
    const m = inStep('licensing', 10, []);
    assert.equal(m.feedEvent(ev(11, 'delivered'), T0), 'next');
    assert.equal(m.feedEvent(ev(13, 'delivered'), T0), 'gap');
    assert.equal(m.lastSeq, 11);
    assert.equal(m.needsResync, true);
    assert.equal(m.sync.state, STALE);
    assert.match(m.sync.reason, /event gap: expected #12, got #13/);
    assert.equal(m.feedEvent(ev(11, 'delivered'), T0), 'dup');
  });

  test('the first snapshot starts the feed BACKFILL events back; a restarted stream is followed', () => {
    const m = new Model('licensing', {}, T0);
    m.applySnapshot(snap(250, []), T0);
    assert.equal(m.lastSeq, 250 - BACKFILL);
    const n = new Model('licensing', {}, T0);
    n.lastSeq = 90;
    n.hasSnapshot = true;
    n.applySnapshot(snap(5, []), T0);
    assert.equal(n.lastSeq, 5);
  });
});

describe('cells of the ack matrix', () => {
  test('abbreviations: initials of hyphenated ids, else three letters', () => {
    assert.equal(abbrev('licensing'), 'lic');
    assert.equal(abbrev('childrens-services'), 'cs');
    assert.equal(abbrev('south-yorkshire-police'), 'syp');
    assert.equal(abbrev('home-office'), 'ho');
    assert.equal(abbrev('po'), 'po');
  });

  test('each state has its mark; what needs action is in capitals', () => {
    const now = T0;
    const later = T0 + 60000;
    const cases = [
      [rcpt('licensing', 'pending', later), 'pending', 'lic-'],
      [rcpt('licensing', 'delivered', later), 'delivered', 'lic~'],
      [rcpt('licensing', 'in_progress', later), 'in_progress', 'lic>'],
      [rcpt('licensing', 'acknowledged', later), 'acknowledged', 'lic+'],
      [rcpt('licensing', 'declined', later), 'declined', 'LICx'],
      [rcpt('licensing', 'unopenable', later), 'unopenable', 'LIC?'],
      [rcpt('licensing', 'delivered', T0 - 1), 'overdue', 'LIC!'],
    ];
    for (const [r, cell, text] of cases) {
      const n = normalizeStatus(status(ID_A, [r])).recipients[0];
      assert.equal(cellOf(n, now), cell, `${r.state} -> ${cell}`);
      assert.equal(renderCell('licensing', cell), text);
    }
  });

  test('late: stepped by the broker, or past the deadline; an acknowledged agency never is', () => {
    const stepped = normalizeStatus(status(ID_A, [rcpt('police', 'delivered', T0 + 60000, { escalation_level: 1 })])).recipients[0];
    assert.equal(cellOf(stepped, T0), 'overdue');
    const acked = normalizeStatus(status(ID_A, [rcpt('police', 'acknowledged', T0 - 60000, { escalation_level: 2 })])).recipients[0];
    assert.equal(cellOf(acked, T0), 'acknowledged');
    // In progress extends the deadline once; the broker's flag stays set but the level restarts.
    const extended = normalizeStatus(status(ID_A, [rcpt('police', 'in_progress', T0 + 60000, { missed_deadline: true })])).recipients[0];
    assert.equal(cellOf(extended, T0), 'in_progress');
    assert.equal(cellOf(extended, T0 + 60001), 'overdue');
  });

  test('the matrix has one cell per required agency, in the alert\u2019s order', () => {
    const a = normalizeStatus(
      status(ID_A, [rcpt('police', 'acknowledged', T0 - 1), rcpt('licensing', 'delivered', T0 - 1), rcpt('oversight', 'delivered', 0, { required: false }), rcpt('childrens-services', 'in_progress', T0 + 5000)]),
    );
    assert.deepEqual(
      matrix(a, T0).map((c) => c.text),
      ['pol+', 'LIC!', 'cs>'],
    );
    assert.match(matrix(a, T0)[1].words, /OVERDUE/);
  });
});

describe('the outstanding list', () => {
  test('overdue first (the longest overdue on top), then the nearest deadline, then none, then the oldest', () => {
    const m = new Model('licensing', {}, T0);
    const now = T0 + 10 * 60000;
    m.applySnapshot(
      snap(1, [
        status('1'.repeat(32), [rcpt('licensing', 'delivered', now + 50000)]),
        status('2'.repeat(32), [rcpt('licensing', 'delivered', now - 1000)]),
        status('3'.repeat(32), [rcpt('licensing', 'delivered', now - 90000)]),
        status('4'.repeat(32), [rcpt('licensing', 'delivered', 0, { required: false })]),
        status('5'.repeat(32), [rcpt('licensing', 'delivered', now + 10000)]),
        status('6'.repeat(32), [rcpt('police', 'declined', now + 90000)]),
      ]),
      now,
    );
    assert.deepEqual(
      m.list(null, now).map((a) => a.id[0]),
      ['3', '2', '6', '5', '1', '4'],
    );
    assert.deepEqual(m.counts(now), { open: 6, overdue: 3, escalated: 0 });
  });

  test('complete alerts leave the list', () => {
    const m = inStep('licensing', 1, [status(ID_A, [rcpt('licensing', 'delivered', T0 + 1000)])]);
    m.feedEvent(ev(2, 'complete'), T0);
    assert.equal(m.list(null, T0).length, 0);
  });

  test('due times for people', () => {
    assert.equal(formatDuration(45000), '45s');
    assert.equal(formatDuration(252000), '4m12s');
    assert.equal(formatDuration(7500000), '2h05m');
    assert.equal(formatDuration(273600000), '3d04h');
    const a = normalizeStatus(status(ID_A, [rcpt('licensing', 'delivered', T0 + 252000), rcpt('police', 'acknowledged', T0 - 5000)]));
    assert.equal(alertDueMs(a), T0 + 252000);
    assert.equal(formatDue(a, T0), 'in 4m12s');
    assert.equal(formatDue(a, T0 + 252000 + 62000), 'LATE 1m02s');
    assert.equal(formatDue(normalizeStatus(status(ID_A, [])), T0), '-');
  });
});

describe('snapshot plus events', () => {
  test('events up to the snapshot only feed the feed; later ones change the state', () => {
    const m = new Model('licensing', {}, T0);
    m.applySnapshot(snap(5, [status(ID_A, [rcpt('licensing', 'delivered', T0 + 60000), rcpt('police', 'delivered', T0 + 60000)])]), T0);
    m.lastSeq = 3;
    m.feedEvent(ev(4, 'acknowledged', { agency: 'police', detail: 'DS Khan' }), T0); // already in the snapshot
    assert.equal(m.alerts.get(ID_A).recipients[1].state, 'delivered');
    m.feedEvent(ev(5, 'delivered'), T0);
    m.feedEvent(ev(6, 'acknowledged', { agency: 'licensing', detail: 'Lic Duty' }), T0);
    const lic = m.alerts.get(ID_A).recipients[0];
    assert.equal(lic.state, 'acknowledged');
    assert.equal(lic.officer, 'Lic Duty');
    assert.equal(m.feed.length, 3);
    assert.equal(m.feed[0].seq, 6);
    assert.deepEqual(m.takeWanted(), [ID_A]); // the note is not in the event
  });

  test('an older in-progress or decline never undoes an acknowledgement', () => {
    const m = inStep('licensing', 1, [status(ID_A, [rcpt('licensing', 'acknowledged', T0 + 60000, { officer: 'Lic Duty' })])]);
    m.feedEvent(ev(2, 'in_progress', { detail: 'late event' }), T0);
    m.feedEvent(ev(3, 'declined', { detail: 'late event' }), T0);
    assert.equal(m.alerts.get(ID_A).recipients[0].state, 'acknowledged');
  });

  test('a new alert, a share or an agency it does not know make it ask about the alert', () => {
    const m = inStep('licensing', 1, [status(ID_A, [rcpt('licensing', 'delivered', T0 + 60000)])]);
    m.feedEvent(ev(2, 'accepted', { alert_id: ID_B }), T0);
    m.feedEvent(ev(3, 'shared', { agency: 'police', detail: 'licensing' }), T0);
    m.feedEvent(ev(4, 'delivered', { agency: 'home-office' }), T0);
    assert.deepEqual(m.takeWanted().sort(), [ID_A, ID_B].sort());
    assert.equal(m.alerts.get(ID_A).shares[0].to, 'police');
    m.applyStatus(status(ID_B, [rcpt('licensing', 'pending', T0 + 60000)]));
    assert.equal(m.list(null, T0).length, 2);
  });

  test('a held alert missing from a later snapshot is asked about alone', () => {
    const m = new Model('licensing', {}, T0);
    m.applySnapshot(snap(1, [status(ID_A, [rcpt('licensing', 'delivered', T0 + 60000)])]), T0);
    m.applySnapshot(snap(2, []), T0);
    assert.deepEqual(m.takeWanted(), [ID_A]);
    m.forget(ID_A); // the broker will say no more (404)
    assert.equal(m.list(null, T0).length, 0);
  });

  test('agencies offline and back; a network change asks for a snapshot', () => {
    const m = inStep('licensing', 1, []);
    m.feedEvent({ seq: 2, time: iso(T0), kind: 'agency_offline', alert_id: null, agency: 'police', count: 3 }, T0);
    assert.equal(m.offline.get('police'), 3);
    m.feedEvent({ seq: 3, time: iso(T0), kind: 'agency_online', alert_id: null, agency: 'police', count: 0 }, T0);
    assert.equal(m.offline.size, 0);
    m.feedEvent({ seq: 4, time: iso(T0), kind: 'network_changed', alert_id: null, agency: '', detail: 'v2' }, T0);
    assert.equal(m.needsResync, true);
  });

  test('an unopenable receipt shows as LIC?', () => {
    const m = inStep('home-office', 1, [status(ID_A, [rcpt('licensing', 'delivered', T0 + 60000)])]);
    m.feedEvent(ev(2, 'unopenable', { detail: 'decrypt' }), T0);
    assert.deepEqual(matrix(m.alerts.get(ID_A), T0).map((c) => c.text), ['LIC?']);
  });
});

describe('attention, once', () => {
  test('what is on screen at start is not news', () => {
    const m = new Model('licensing', {}, T0);
    m.applySnapshot(snap(1, [status(ID_A, [rcpt('licensing', 'delivered', T0 - 1, { missed_deadline: true, escalation_level: 1 })], { severity: 'critical' })]), T0);
    assert.deepEqual(m.takeAttention(), []);
  });

  test('a newly overdue alert for this agency is announced once', () => {
    const m = inStep('licensing', 1, [status(ID_A, [rcpt('licensing', 'delivered', T0 + 1000)])]);
    m.feedEvent(ev(2, 'overdue', { level: 1, detail: 'deadline passed' }), T0);
    const got = m.takeAttention();
    assert.equal(got.length, 1);
    assert.match(got[0].text, /^OVERDUE: aaaaaaaa for licensing \(high alert from home-office\)/);
    m.feedEvent(ev(3, 'overdue', { level: 2 }), T0); // again: no
    m.applySnapshot(snap(3, [status(ID_A, [rcpt('licensing', 'delivered', T0 + 1000, { missed_deadline: true })])]), T0);
    assert.deepEqual(m.takeAttention(), []);
  });

  test('another agency late concerns the sender and oversight, not a bystander', () => {
    const mk = (me, opts) => {
      const m = inStep(me, 1, [status(ID_A, [rcpt('police', 'delivered', T0 + 1000), rcpt(me, 'acknowledged', T0 + 1000)])], opts);
      m.feedEvent(ev(2, 'overdue', { agency: 'police', level: 1 }), T0);
      return m.takeAttention().length;
    };
    assert.equal(mk('childrens-services', {}), 0);
    assert.equal(mk('oversight', { oversight: true }), 1);
    const sender = inStep('home-office', 1, [status(ID_A, [rcpt('police', 'delivered', T0 + 1000)])]);
    sender.feedEvent(ev(2, 'overdue', { agency: 'police', level: 1 }), T0);
    assert.equal(sender.takeAttention().length, 1);
  });

  test('a new critical alert for this agency is announced once; its own are not', () => {
    const m = new Model('licensing', {}, T0);
    m.applySnapshot(snap(1, []), T0);
    m.applyStatus(status(ID_B, [rcpt('licensing', 'pending', T0 + 1000)], { severity: 'critical' }));
    m.applyStatus(status(ID_B, [rcpt('licensing', 'delivered', T0 + 1000)], { severity: 'critical' }));
    m.applyStatus(status(ID_C, [rcpt('police', 'pending', T0 + 1000)], { severity: 'critical', sender: 'licensing' }));
    const got = m.takeAttention();
    assert.equal(got.length, 1);
    assert.match(got[0].text, /^NEW CRITICAL alert bbbbbbbb from home-office/);
  });
});

describe('filters and search', () => {
  const m = new Model('licensing', {}, T0);
  m.applySnapshot(
    snap(1, [
      status(ID_A, [rcpt('licensing', 'delivered', T0 - 1)], { severity: 'critical', headline: 'Taxi drivers linked to CSE' }),
      status(ID_B, [rcpt('police', 'delivered', T0 + 90000)], { severity: 'low', categories: ['missing-child'], headline: 'Girl missing' }),
      status(ID_C, [rcpt('licensing', 'delivered', T0 + 90000)], { severity: 'medium', categories: ['other'], sealed: true, headline: null }),
    ]),
    T0,
  );
  m.applyDetail(ID_B, { alert: { headline: 'Girl missing', description: 'Last seen near the station', subjects: [{ scheme: 'person', value: 'J. Doe' }] }, shares: [], linked: [] });

  test('overdue only, and a minimum severity', () => {
    assert.deepEqual(m.list({ overdueOnly: true, minSeverity: '', text: '' }, T0).map((a) => a.id), [ID_A]);
    assert.deepEqual(m.list({ overdueOnly: false, minSeverity: 'medium', text: '' }, T0).map((a) => a.id).sort(), [ID_A, ID_C].sort());
  });

  test('text: id, sender, categories, recipients, headline, and the content the detail fetched', () => {
    const f = (text) => m.list({ overdueOnly: false, minSeverity: '', text }, T0).map((a) => a.id);
    assert.deepEqual(f('TAXI'), [ID_A]);
    assert.deepEqual(f('missing-child'), [ID_B]);
    assert.deepEqual(f('station'), [ID_B]);
    assert.deepEqual(f('j. doe'), [ID_B]);
    assert.deepEqual(f('cccc'), [ID_C]);
    assert.deepEqual(f('sealed text nobody can read'), []);
  });

  test('what the filter says', () => {
    assert.equal(describeFilter({ overdueOnly: false, minSeverity: '', text: '' }), 'none');
    assert.equal(describeFilter({ overdueOnly: true, minSeverity: 'high', text: ' taxi ' }), "overdue only, high+, text 'taxi'");
  });
});

describe('the live feed', () => {
  test('what events say', () => {
    const m = new Model('licensing', {}, T0);
    m.applySnapshot(snap(1, [status(ID_A, [])]), T0);
    assert.equal(describeEvent(m, ev(2, 'overdue', { detail: 'deadline passed' })), 'OVERDUE for licensing (deadline passed)');
    assert.equal(describeEvent(m, ev(2, 'acknowledged', { agency: 'police', detail: 'DS Khan' })), 'police acknowledged (DS Khan)');
    assert.equal(describeEvent(m, ev(2, 'accepted')), 'new high alert from home-office: headline aaaa');
    assert.equal(describeEvent(m, { kind: 'agency_offline', agency: 'police', count: 1 }), 'police OFFLINE with 1 alert waiting');
    assert.equal(describeEvent(m, { kind: 'unwitnessed', detail: 'size=9 cosigned=1 required=2 within=1s' }), 'AUDIT: a checkpoint too few agencies cosigned (size=9 cosigned=1 required=2 within=1s)');
    assert.equal(
      describeEvent(m, ev(2, 'repeat_warning', { count: 2 })),
      'REPEAT WARNING: licensing did not acknowledge 2 earlier warnings about this subject',
    );
  });

  test('a repeat warning joins the feed and changes no state', () => {
    const m = inStep('licensing', 1, [status(ID_A, [rcpt('licensing', 'delivered', T0 + 60000)])]);
    const before = JSON.stringify(m.alerts.get(ID_A));
    assert.equal(m.feedEvent(ev(2, 'repeat_warning', { count: 1 }), T0 + 2000), 'next');
    assert.equal(m.lastSeq, 2);
    assert.equal(m.feed[0].kind, 'repeat_warning');
    assert.equal(JSON.stringify(m.alerts.get(ID_A)), before);
    assert.equal(m.needsResync, false);
  });
});

describe('the sync state: never an all-clear it cannot vouch for', () => {
  function live() {
    const m = new Model('licensing', {}, T0);
    m.applySnapshot(snap(1, []), T0);
    const l = emptyLink(T0);
    l.streamUp = true;
    takeHeartbeat(l, { broker_up: true, contact_age_ms: 100 }, T0);
    return { m, l };
  }

  test('no snapshot: NO DATA, snapshot pending', () => {
    const m = new Model('licensing', {}, T0);
    assert.equal(syncFor(m, emptyLink(T0), T0).state, NO_DATA);
    assert.match(syncFor(m, emptyLink(T0), T0).reason, /snapshot pending/);
  });

  test('snapshot, stream and a broker that answers: LIVE', () => {
    const { m, l } = live();
    assert.equal(syncFor(m, l, T0 + 1000).state, LIVE);
  });

  test('the broker misses the gateway\u2019s probe: STALE at once, with since when', () => {
    const { m, l } = live();
    takeHeartbeat(l, { broker_up: false, contact_age_ms: 2500 }, T0 + 2000);
    const s = syncFor(m, l, T0 + 2000);
    assert.equal(s.state, STALE);
    assert.equal(s.since, T0 + 2000);
  });

  test('nothing from the broker past the heartbeat timeout: NO DATA since the last word', () => {
    const { m, l } = live();
    takeHeartbeat(l, { broker_up: false, contact_age_ms: 14000 }, T0 + 14000);
    assert.equal(syncFor(m, l, T0 + 14000).state, STALE);
    const s = syncFor(m, l, T0 + 100 + SILENCE_MS + 1);
    assert.equal(s.state, NO_DATA);
    assert.match(s.reason, /nothing from the broker for over 15s/);
    assert.equal(s.since, T0); // the broker's last answer, as the gateway said at T0 + 14 s
  });

  test('the gateway falls silent: NO DATA too', () => {
    const { m, l } = live();
    const s = syncFor(m, l, T0 + SILENCE_MS + 500);
    assert.equal(s.state, NO_DATA);
  });

  test('a broken stream is STALE, then NO DATA', () => {
    const { m, l } = live();
    l.streamUp = false;
    l.streamChangedAt = T0 + 1000;
    l.lastBeat = 0;
    l.lastContact = 0;
    assert.equal(syncFor(m, l, T0 + 2000).state, STALE);
    assert.equal(syncFor(m, l, T0 + 2000 + SILENCE_MS).state, NO_DATA);
  });

  test('a gap is STALE until the refetch', () => {
    const { m, l } = live();
    m.feedEvent(ev(5, 'delivered'), T0);
    assert.equal(syncFor(m, l, T0).state, STALE);
  });
});
