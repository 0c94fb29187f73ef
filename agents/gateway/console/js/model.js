// model.js — what the web console knows, with no I/O and no DOM: the state
// of the alerts that concern this agency, built from a snapshot
// (GET /v1/snapshot) plus the agency's sequenced event stream
// (GET /v1/events), and everything the screens derive from it: the order,
// the ack-matrix cells, filters, counts, the live feed, the sync state and
// attention. It follows vigil-console's model (agents/console/console_model.h)
// so both consoles make the same promises:
//
// - Every event's sequence number is checked against the last one consumed
//   (seqCheck). A gap is never papered over: the sync state turns STALE
//   with the reason and the caller refetches (a snapshot, then the events
//   after the last one consumed).
// - A snapshot is exact as of its last_event_seq: events up to it only feed
//   the live feed, later ones change the state.
// - Events that do not carry everything the screen needs (a new alert, a
//   share, a new deadline, an officer's note) are applied as far as they go
//   and queue the alert to be asked about alone (GET /v1/alerts/{id}): the
//   caller takes them from takeWanted(). Events never move a recipient back
//   from acknowledged.
// - Silence is not good news: with no word from the broker for SILENCE_MS
//   (as the gateway's heartbeat reports it) or from the gateway itself, the
//   state is NO DATA, and an empty list then says it cannot say what is
//   outstanding — never "nothing outstanding".
//
// Times are milliseconds since the epoch; callers pass `now`, the model
// never reads a clock.

export const SILENCE_MS = 15000; // no word from the broker this long: NO DATA (3 x its keepalive)
export const FEED_MAX = 200; // events kept for the live feed and timelines
export const BACKFILL = 100; // events before the first snapshot taken into the feed
export const HISTORY_MAX = 500; // completed alerts kept (linking, the detail view)

export const LIVE = 'LIVE';
export const STALE = 'STALE';
export const NO_DATA = 'NO DATA';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const SEV_SHORT = { low: 'LOW', medium: 'MED', high: 'HIGH', critical: 'CRIT' };

// ---- sequence numbers ---------------------------------------------------------------------

// The gap detector: 'next' (consume it), 'dup' (already consumed: ignore)
// or 'gap' (events were lost).
export function seqCheck(last, got) {
  if (got <= last) return 'dup';
  return got === last + 1 ? 'next' : 'gap';
}

// ---- times -------------------------------------------------------------------------------

export function parseTime(text) {
  if (text === null || text === undefined || text === '') return 0;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : 0;
}

// "45s", "4m12s", "2h05m", "3d04h" (as vigil-console writes durations).
export function formatDuration(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const two = (n) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}

// HH:MM:SS in UTC; "--:--:--" for no time.
export function formatClock(ms) {
  if (!ms || ms <= 0) return '--:--:--';
  return new Date(ms).toISOString().slice(11, 19);
}

// ---- agencies and cells ---------------------------------------------------------------------

// The initials of a hyphenated id ("childrens-services" -> "cs"), else its
// first three characters ("licensing" -> "lic").
export function abbrev(agency) {
  const id = String(agency || '');
  if (id.includes('-')) {
    return id
      .split('-')
      .filter((p) => p.length > 0)
      .map((p) => p[0])
      .join('')
      .slice(0, 3);
  }
  return id.slice(0, 3);
}

// Each cell: its mark, whether it needs action (then in capitals, so the
// matrix reads the same without colour), and its words for people.
export const CELLS = {
  pending: { glyph: '-', loud: false, words: 'pending: not delivered yet' },
  delivered: { glyph: '~', loud: false, words: 'delivered: nobody has acknowledged' },
  in_progress: { glyph: '>', loud: false, words: 'in progress' },
  acknowledged: { glyph: '+', loud: false, words: 'acknowledged' },
  declined: { glyph: 'x', loud: true, words: 'DECLINED' },
  overdue: { glyph: '!', loud: true, words: 'OVERDUE: past its deadline, not acknowledged' },
  unopenable: { glyph: '?', loud: true, words: 'CANNOT OPEN: its software could not open it' },
};

// Late now: the broker has stepped it (level > 0) or its deadline passed.
// (The broker's overdue flag stays set after an in-progress extension, which
// restarts the level from 0: the extended deadline counts.)
export function recipientIsLate(r, now) {
  return (r.escalation_level || 0) > 0 || (r.deadlineMs > 0 && now > r.deadlineMs);
}

// The cell of a recipient at now.
export function cellOf(r, now) {
  switch (r.state) {
    case 'acknowledged':
      return 'acknowledged';
    case 'declined':
      return 'declined';
    case 'unopenable':
      return 'unopenable';
    default:
      break;
  }
  if (r.required && recipientIsLate(r, now)) return 'overdue';
  if (r.state === 'delivered') return 'delivered';
  if (r.state === 'in_progress') return 'in_progress';
  return 'pending';
}

// "lic+", "LIC!": the abbreviation and the mark, in capitals when loud.
export function renderCell(agency, cell) {
  const c = CELLS[cell] || CELLS.pending;
  const ab = abbrev(agency);
  return (c.loud ? ab.toUpperCase() : ab.toLowerCase()) + c.glyph;
}

// One cell per required agency: {agency, cell, text, words}.
export function matrix(alert, now) {
  return (alert.recipients || [])
    .filter((r) => r.required)
    .map((r) => {
      const cell = cellOf(r, now);
      return { agency: r.agency, cell, text: renderCell(r.agency, cell), words: CELLS[cell].words };
    });
}

// ---- alerts ------------------------------------------------------------------------------

// A status as the gateway writes it (vigil-agent status --json), with its
// times parsed.
export function normalizeStatus(st) {
  const a = { ...st };
  a.sentMs = parseTime(st.sent);
  a.acceptedMs = parseTime(st.accepted);
  a.categories = Array.isArray(st.categories) ? st.categories.slice() : [];
  a.recipients = (Array.isArray(st.recipients) ? st.recipients : []).map((r) => ({
    ...r,
    deadlineMs: parseTime(r.deadline),
    deliveredMs: parseTime(r.delivered),
    acknowledgedMs: parseTime(r.acknowledged),
    escalation_level: r.escalation_level || 0,
  }));
  a.shares = [];
  return a;
}

// The earliest deadline among required recipients that have not
// acknowledged, or 0 when none is open.
export function alertDueMs(a) {
  let due = 0;
  for (const r of a.recipients) {
    if (r.required && r.state !== 'acknowledged' && r.deadlineMs > 0 && (due === 0 || r.deadlineMs < due)) {
      due = r.deadlineMs;
    }
  }
  return due;
}

// True when a required recipient's cell is overdue, declined or cannot open.
export function alertIsOverdue(a, now) {
  return a.recipients.some((r) => r.required && CELLS[cellOf(r, now)].loud);
}

// True when a recipient has been escalated past the overdue step.
export function alertIsEscalated(a) {
  return a.recipients.some((r) => r.state !== 'acknowledged' && r.escalation_level >= 2);
}

// True when agency is a required recipient that has not acknowledged.
export function alertAwaits(a, agency) {
  return a.recipients.some((r) => r.required && r.state !== 'acknowledged' && r.agency === agency);
}

export function recipientOf(a, agency) {
  return a.recipients.find((r) => r.agency === agency) || null;
}

export function headlineOf(a) {
  return a.headline === null || a.headline === undefined || a.sealed ? 'sealed' : a.headline;
}

export function severityShort(sev) {
  return SEV_SHORT[sev] || String(sev || '?').toUpperCase();
}

// "in 4m12s", "LATE 1m02s", or "-" when no deadline is open.
export function formatDue(a, now) {
  const due = alertDueMs(a);
  if (due === 0) return '-';
  return (now > due ? 'LATE ' : 'in ') + formatDuration(due - now);
}

// Overdue first, the longest overdue on top, then the nearest deadline,
// then the oldest.
export function compareAlerts(a, b, now) {
  const oa = alertIsOverdue(a, now);
  const ob = alertIsOverdue(b, now);
  if (oa !== ob) return oa ? -1 : 1;
  const da = alertDueMs(a);
  const db = alertDueMs(b);
  if (da !== db) {
    if (da === 0 || db === 0) return da === 0 ? 1 : -1;
    return da < db ? -1 : 1;
  }
  if (a.acceptedMs !== b.acceptedMs) return a.acceptedMs < b.acceptedMs ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// ---- filters -----------------------------------------------------------------------------

export function emptyFilter() {
  return { overdueOnly: false, minSeverity: '', text: '' };
}

function has(hay, needle) {
  return typeof hay === 'string' && hay.toLowerCase().includes(needle);
}

// The text this agency can read: id, sender, categories, recipients, the
// headline, and the opened content when the detail view fetched it.
function textMatch(a, t) {
  if (t === '') return true;
  if (has(a.id, t) || has(a.sender, t) || a.categories.some((c) => has(c, t))) return true;
  if (a.recipients.some((r) => has(r.agency, t))) return true;
  if (!a.sealed && has(a.headline, t)) return true;
  const c = a.content;
  if (!c) return false;
  const fields = [c.headline, c.event, c.description, c.instruction, c.sender_name];
  if (fields.some((f) => has(f, t))) return true;
  if ((c.incidents || []).some((i) => has(i, t))) return true;
  if ((c.areas || []).some((ar) => has(ar.desc, t))) return true;
  return (c.subjects || []).some((s) => has(s.scheme, t) || has(s.value, t));
}

export function filterMatch(a, f, now) {
  if (f.overdueOnly && !alertIsOverdue(a, now)) return false;
  if (f.minSeverity && SEVERITIES.indexOf(a.severity) < SEVERITIES.indexOf(f.minSeverity)) {
    return false;
  }
  return textMatch(a, (f.text || '').trim().toLowerCase());
}

// "overdue only, high+, text 'taxi'" or "none".
export function describeFilter(f) {
  const parts = [];
  if (f.overdueOnly) parts.push('overdue only');
  if (f.minSeverity) parts.push(`${f.minSeverity}+`);
  if ((f.text || '').trim() !== '') parts.push(`text '${f.text.trim()}'`);
  return parts.length ? parts.join(', ') : 'none';
}

// ---- feed lines ---------------------------------------------------------------------------

function describeAlertEvent(m, e) {
  const a = e.alert_id ? m.alerts.get(e.alert_id) : null;
  switch (e.kind) {
    case 'accepted':
      return `new ${e.severity} alert from ${e.sender}: ${a ? headlineOf(a) : '(details follow)'}`;
    case 'delivered':
      return `delivered to ${e.agency}`;
    case 'acknowledged':
      return `${e.agency} acknowledged (${e.detail || 'no officer named'})`;
    case 'in_progress':
      return `${e.agency} in progress: ${e.detail || ''}`;
    case 'declined':
      return `${e.agency} DECLINED: ${e.detail || ''}`;
    case 'shared':
      return `${e.detail || 'an agency'} shared it with ${e.agency}`;
    case 'overdue':
      return `OVERDUE for ${e.agency} (${e.detail || 'deadline passed'})`;
    case 'escalated':
      return `ESCALATED: ${e.agency} late, level ${e.level}, ${e.detail || ''}`;
    case 'complete':
      return 'complete: every required agency acknowledged';
    case 'unopenable':
      return `${e.agency} CANNOT OPEN it: ${e.detail || ''}`;
    case 'repeat_warning':
      return `REPEAT WARNING: ${e.agency} did not acknowledge ${e.count} earlier warning${e.count === 1 ? '' : 's'} about this subject`;
    case 'reassigned':
      return `${e.agency} revoked: reassigned${e.detail ? ` to ${e.detail}` : ''}`;
    default:
      return `${e.kind} ${e.agency || ''} ${e.detail || ''}`.trim();
  }
}

// What an event says, for the live feed ("OVERDUE for licensing (...)").
export function describeEvent(m, e) {
  switch (e.kind) {
    case 'agency_offline':
      return `${e.agency} OFFLINE with ${e.count} alert${e.count === 1 ? '' : 's'} waiting`;
    case 'agency_online':
      return `${e.agency} back online`;
    case 'network_changed':
      return `network document changed ${e.detail || ''}`.trim();
    case 'rejected':
      return `rejected from ${e.agency}: ${e.detail || ''}`;
    case 'unwitnessed':
      return `AUDIT: a checkpoint too few agencies cosigned (${e.detail || ''})`;
    default:
      return describeAlertEvent(m, e);
  }
}

// ---- the model ------------------------------------------------------------------------------

export class Model {
  // me: this agency's id; oversight: every overdue alert concerns it.
  constructor(me, { oversight = false } = {}, now = 0) {
    this.me = me;
    this.oversight = oversight;
    this.alerts = new Map(); // id -> alert (outstanding and recent history)
    this.feed = []; // events, newest first
    this.lastSeq = 0; // the last event consumed: the gap detector's state
    this.stateSeq = 0; // the state is exact as of this event
    this.snapshotGen = 0; // snapshots applied
    this.hasSnapshot = false;
    this.needsResync = false; // a fresh snapshot is needed
    this.sync = { state: NO_DATA, reason: 'snapshot pending', since: now };
    this.offline = new Map(); // agency -> alerts waiting
    this.alerted = new Set(); // "id/agency", "id/new": attention already raised
    this.attention = []; // raised, not yet taken: {key, text}
    this.wanted = new Set(); // alert ids to ask about alone
    this.changes = 0; // bumped on every change (renderers redraw)
    this.knownAt = 0; // when the state was last known to be current
    this.agencies = []; // the network's agencies: {id, name, role, revoked}
  }

  // ---- sync state --------------------------------------------------------------------------

  // Sets the sync state (a change of state restarts `since`).
  setSync(state, reason, since) {
    if (this.sync.state !== state) {
      this.sync = { state, reason, since };
      this.changes++;
    } else if (this.sync.reason !== reason) {
      this.sync = { ...this.sync, reason };
      this.changes++;
    }
  }

  // ---- attention -----------------------------------------------------------------------------

  attend(key, text) {
    if (this.alerted.has(key)) return;
    this.alerted.add(key);
    this.attention.push({ key, text });
  }

  // Raised since the last call, each once.
  takeAttention() {
    const out = this.attention;
    this.attention = [];
    return out;
  }

  // An overdue recipient concerns this console when it is us, when we sent
  // the alert, or always for oversight.
  overdueConcerns(a, agency) {
    return this.oversight || agency === this.me || a.sender === this.me;
  }

  attendOverdue(a, agency) {
    if (!this.overdueConcerns(a, agency)) return;
    this.attend(
      `${a.id}/${agency}`,
      `OVERDUE: ${a.id.slice(0, 8)} for ${agency} (${a.severity} alert from ${a.sender})`,
    );
  }

  attendNew(a) {
    const forMe = this.oversight || recipientOf(a, this.me) !== null;
    if (a.severity !== 'critical' || !forMe || a.sender === this.me) return;
    // Metadata only, as vigil-console says it: the text may reach the
    // desktop's notification centre, which is no place for alert content.
    this.attend(`${a.id}/new`, `NEW CRITICAL alert ${a.id.slice(0, 8)} from ${a.sender}`);
  }

  // Everything on screen at start is not news.
  markSeen(a) {
    this.alerted.add(`${a.id}/new`);
    for (const r of a.recipients) {
      if (r.missed_deadline) this.alerted.add(`${a.id}/${r.agency}`);
    }
  }

  // ---- snapshot and status ---------------------------------------------------------------------

  // Applies one status (a snapshot's, or one asked about alone); raises
  // attention for what is new unless `first`.
  applyOne(st, first) {
    const old = this.alerts.get(st.id);
    const a = normalizeStatus(st);
    if (old) {
      a.content = old.content;
      a.shares = old.shares;
      a.detail = old.detail;
    }
    a.seenGen = this.snapshotGen;
    for (const r of a.recipients) {
      if (r.shared_by) this.addShare(a, r.shared_by, r.agency, null, 0);
    }
    this.alerts.set(a.id, a);
    if (first) {
      this.markSeen(a);
      return a;
    }
    if (!old) this.attendNew(a);
    for (const r of a.recipients) {
      const before = old ? recipientOf(old, r.agency) : null;
      if (r.missed_deadline && !(before && before.missed_deadline) && r.state !== 'acknowledged') {
        this.attendOverdue(a, r.agency);
      }
    }
    return a;
  }

  // Replaces the state with a snapshot exact as of snap.last_event_seq.
  // Held alerts not in it are queued to be asked about alone.
  applySnapshot(snap, now) {
    const first = !this.hasSnapshot;
    this.snapshotGen++;
    if (Array.isArray(snap.agencies)) this.agencies = snap.agencies;
    if (typeof snap.oversight === 'boolean') this.oversight = snap.oversight;
    for (const st of snap.alerts || []) this.applyOne(st, first);
    for (const a of this.alerts.values()) {
      if (a.seenGen !== this.snapshotGen && !a.complete) this.wanted.add(a.id);
    }
    this.trimHistory();
    const seq = Number(snap.last_event_seq) || 0;
    this.stateSeq = seq;
    if (first && this.lastSeq === 0) this.lastSeq = Math.max(0, seq - BACKFILL);
    if (this.lastSeq > seq) this.lastSeq = seq; // the broker's stream restarted: follow it
    this.hasSnapshot = true;
    this.needsResync = false;
    this.knownAt = now;
    this.changes++;
  }

  // Applies the status of one alert (GET /v1/alerts/{id}).
  applyStatus(st) {
    this.applyOne(st, !this.hasSnapshot);
    this.changes++;
  }

  // The broker will not say more about this alert: it leaves the list.
  forget(id) {
    const a = this.alerts.get(id);
    if (a && !a.complete) {
      a.complete = true;
      this.changes++;
    }
  }

  // Keeps what the detail view learnt: the opened content and the shares.
  applyDetail(id, detail) {
    const a = this.alerts.get(id);
    if (!a) return;
    a.detail = detail;
    a.content = detail.alert || null;
    for (const s of detail.shares || []) this.addShare(a, s.sharer, s.to, s.reason, parseTime(s.time));
    this.changes++;
  }

  addShare(a, sharer, to, reason, timeMs) {
    let s = a.shares.find((x) => x.to === to);
    if (!s) {
      s = { sharer: '', to, reason: null, timeMs: 0 };
      a.shares.push(s);
    }
    if (sharer) s.sharer = sharer;
    if (reason) s.reason = reason;
    if (timeMs) s.timeMs = timeMs;
  }

  trimHistory() {
    const done = [...this.alerts.values()].filter((a) => a.complete);
    done.sort((x, y) => x.acceptedMs - y.acceptedMs);
    for (let i = 0; i < done.length - HISTORY_MAX; i++) this.alerts.delete(done[i].id);
  }

  // Alerts to ask about alone, taken.
  takeWanted() {
    const out = [...this.wanted];
    this.wanted.clear();
    return out;
  }

  // ---- events ---------------------------------------------------------------------------------

  // Consumes one event of the stream: 'dup' (ignored), 'gap' (not consumed:
  // STALE, needsResync) or 'next' (it joins the feed and, when newer than
  // the state, changes it).
  feedEvent(e, now) {
    const seq = Number(e.seq);
    const r = seqCheck(this.lastSeq, seq);
    if (r === 'dup') return r;
    if (r === 'gap' && this.hasSnapshot) {
      this.setSync(STALE, `event gap: expected #${this.lastSeq + 1}, got #${seq}; refetching`, now);
      this.needsResync = true;
      return r;
    }
    this.feed.unshift(e);
    if (this.feed.length > FEED_MAX) this.feed.length = FEED_MAX;
    this.lastSeq = seq;
    if (this.hasSnapshot && seq > this.stateSeq) {
      this.applyEvent(e);
      this.stateSeq = seq;
    } else if (this.hasSnapshot && e.alert_id && e.kind !== 'complete' && !this.alerts.has(e.alert_id)) {
      this.wanted.add(e.alert_id); // history about an alert not in the snapshot
    }
    this.changes++;
    return 'next';
  }

  applyEvent(e) {
    if (e.kind === 'agency_offline') {
      this.offline.set(e.agency, e.count);
      return;
    }
    if (e.kind === 'agency_online') {
      this.offline.delete(e.agency);
      return;
    }
    if (e.kind === 'network_changed' || e.kind === 'rejected' || !e.alert_id) {
      if (e.kind === 'network_changed') this.needsResync = true;
      return;
    }
    const a = this.alerts.get(e.alert_id);
    if (!a || e.kind === 'accepted') {
      if (!a && e.kind !== 'complete') this.wanted.add(e.alert_id); // new here: ask about it
      return;
    }
    if (e.kind === 'complete') {
      a.complete = true;
      return;
    }
    if (e.kind === 'reassigned') {
      this.wanted.add(a.id); // the successor's row
      return;
    }
    if (e.kind === 'shared') {
      this.wanted.add(a.id); // the new recipient's row and deadline
      this.addShare(a, e.detail, e.agency, null, parseTime(e.time));
      return;
    }
    this.applyToRecipient(a, e);
  }

  applyToRecipient(a, e) {
    const r = recipientOf(a, e.agency);
    if (!r) {
      this.wanted.add(a.id);
      return;
    }
    const t = parseTime(e.time);
    switch (e.kind) {
      case 'delivered':
        if (r.state === 'pending') r.state = 'delivered';
        if (!r.deliveredMs) r.deliveredMs = t;
        break;
      case 'acknowledged':
        r.state = 'acknowledged';
        r.acknowledgedMs = t;
        r.officer = e.detail || r.officer;
        this.wanted.add(a.id); // the note is not in the event
        break;
      case 'in_progress':
      case 'declined':
        if (r.state === 'acknowledged') break; // older than the status held
        r.state = e.kind;
        r.reason = e.detail || r.reason;
        if (e.kind === 'in_progress') this.wanted.add(a.id); // the extended deadline
        break;
      case 'unopenable':
        if (r.state === 'acknowledged') break;
        r.state = 'unopenable';
        r.reason = e.detail || r.reason;
        break;
      case 'overdue':
        r.missed_deadline = true;
        r.escalation_level = Math.max(r.escalation_level, e.level || 1);
        if (r.state !== 'acknowledged') this.attendOverdue(a, r.agency);
        break;
      case 'escalated':
        r.escalation_level = Math.max(r.escalation_level, e.level || 0);
        break;
      default:
        break;
    }
  }

  // Events about one alert, newest first (the detail view's timeline).
  eventsOf(id) {
    return this.feed.filter((e) => e.alert_id === id);
  }

  // ---- what the screens show --------------------------------------------------------------------

  // Outstanding alerts passing the filter, overdue first.
  list(filter, now) {
    const f = filter || emptyFilter();
    return [...this.alerts.values()]
      .filter((a) => !a.complete && filterMatch(a, f, now))
      .sort((x, y) => compareAlerts(x, y, now));
  }

  counts(now) {
    let open = 0;
    let overdue = 0;
    let escalated = 0;
    for (const a of this.alerts.values()) {
      if (a.complete) continue;
      open++;
      if (alertIsOverdue(a, now)) overdue++;
      if (alertIsEscalated(a)) escalated++;
    }
    return { open, overdue, escalated };
  }
}

// ---- liveness -----------------------------------------------------------------------------------

// What the connection knows, for syncFor: the gateway's heartbeats say
// whether it hears from the broker and how long ago it last did.
export function emptyLink(now = 0) {
  return {
    streamUp: false, // the event stream is open
    streamChangedAt: now, // when it opened or closed
    lastBeat: 0, // local time of the last heartbeat from the gateway
    brokerUp: false, // the gateway's last probe of the broker was answered
    brokerDownSince: 0, // local time the gateway first said it was not
    lastContact: 0, // local time the broker last answered the gateway
    resyncing: false, // a snapshot is being fetched
    resyncReason: '', // why
  };
}

// Takes a heartbeat {broker_up, contact_age_ms} received at now.
export function takeHeartbeat(link, hb, now) {
  link.lastBeat = now;
  if (hb.contact_age_ms !== null && hb.contact_age_ms !== undefined) {
    link.lastContact = now - Number(hb.contact_age_ms);
  }
  if (hb.broker_up) {
    link.brokerDownSince = 0;
  } else if (link.brokerDownSince === 0) {
    link.brokerDownSince = now;
  }
  link.brokerUp = Boolean(hb.broker_up);
}

// The sync state the screen must show at now: {state, reason, since}. It
// is LIVE only with a snapshot, an open stream, a recent heartbeat and a
// broker that answers; STALE while it refetches or the broker missed a
// probe; NO DATA after SILENCE_MS without a word from the broker or the
// gateway, or before the first snapshot.
export function syncFor(model, link, now) {
  const secs = Math.round(SILENCE_MS / 1000);
  if (!model.hasSnapshot) {
    return { state: NO_DATA, reason: link.resyncReason || 'snapshot pending', since: model.sync.since };
  }
  if (link.lastContact > 0 && now - link.lastContact > SILENCE_MS) {
    return {
      state: NO_DATA,
      reason: `disconnected: nothing from the broker for over ${secs}s`,
      since: link.lastContact,
    };
  }
  if (link.lastBeat > 0 && now - link.lastBeat > SILENCE_MS) {
    return { state: NO_DATA, reason: `disconnected: nothing from the gateway for over ${secs}s`, since: link.lastBeat };
  }
  if (!link.streamUp && now - link.streamChangedAt > SILENCE_MS) {
    return { state: NO_DATA, reason: 'disconnected from the gateway', since: link.streamChangedAt };
  }
  if (model.needsResync || link.resyncing) {
    return { state: STALE, reason: link.resyncReason || 'refetching', since: now };
  }
  if (!link.streamUp) {
    return { state: STALE, reason: 'event stream interrupted; reconnecting', since: link.streamChangedAt };
  }
  if (link.lastBeat === 0) {
    return { state: STALE, reason: 'waiting for the gateway to vouch for the broker', since: link.streamChangedAt };
  }
  if (!link.brokerUp) {
    return {
      state: STALE,
      reason: 'the broker did not answer the gateway\u2019s last probe',
      since: link.brokerDownSince || now,
    };
  }
  return { state: LIVE, reason: '', since: now };
}
