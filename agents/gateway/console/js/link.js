// link.js — keeps a Model in step with the gateway: a snapshot
// (GET /v1/snapshot), then the agency's event stream (Server-Sent Events,
// GET /v1/events?after=N&heartbeat=1) from the last event consumed, every
// sequence number checked by the model. On a gap, a broken stream, or the
// broker coming back after the gateway lost it, it refetches: a snapshot,
// then the events after the last one consumed. Alerts the events do not
// describe fully are asked about alone (GET /v1/alerts/{id}).
//
// Twice a second it works out the sync state (model.syncFor): LIVE only
// when it can vouch for what the screen shows.

import { problemText } from './api.js';
import { LIVE, NO_DATA, SILENCE_MS, emptyLink, syncFor, takeHeartbeat } from './model.js';

// Every kind the stream names (an unknown one is still caught: the next
// event's sequence number shows the gap).
export const EVENT_KINDS = [
  'accepted',
  'rejected',
  'delivered',
  'acknowledged',
  'in_progress',
  'declined',
  'shared',
  'overdue',
  'escalated',
  'agency_offline',
  'agency_online',
  'complete',
  'network_changed',
  'unopenable',
  'reassigned',
  'notified',
  'network_warning',
  'linked',
  'repeat_warning',
  'unwitnessed',
  'unknown',
];

const RETRY_MS = 1000; // before reopening a broken stream
const SNAPSHOT_RETRY_MS = 2000; // before asking again for a snapshot that failed
const WANTED_PARALLEL = 4; // alerts asked about at once
const TICK_MS = 250; // how often the sync state is worked out

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Link {
  // hooks: onChange() after anything changed, onSessionEnded(why) when the
  // gateway says the session is over, onNotice(json) for gateway notices.
  constructor(api, model, hooks, { EventSourceImpl = globalThis.EventSource, clock = () => Date.now() } = {}) {
    this.api = api;
    this.model = model;
    this.hooks = hooks;
    this.EventSourceImpl = EventSourceImpl;
    this.clock = clock;
    this.link = emptyLink(clock());
    this.es = null;
    this.stopped = false;
    this.resyncAgain = false;
    this.inflight = 0;
    this.queue = [];
    this.timer = null;
    this.changeQueued = false;
    this.outOfTouch = false; // NO DATA with a snapshot held: refetch once back
  }

  start() {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.resync('snapshot pending');
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    this.closeStream();
  }

  changed() {
    if (this.changeQueued || this.stopped) return;
    this.changeQueued = true;
    setTimeout(() => {
      this.changeQueued = false;
      if (!this.stopped) this.hooks.onChange();
    }, 0);
  }

  tick() {
    if (this.stopped) return;
    const now = this.clock();
    const s = syncFor(this.model, this.link, now);
    if (s.state === NO_DATA && this.model.hasSnapshot) {
      this.outOfTouch = true; // what is held may be out of date
    } else if (this.outOfTouch && !this.link.resyncing) {
      this.resync('back in touch; refetching'); // as vigil-console does
      return;
    }
    if (s.state === LIVE) this.model.knownAt = now; // vouched for up to now
    const before = this.model.changes;
    this.model.setSync(s.state, s.reason, s.since);
    if (this.model.changes !== before) this.changed();
  }

  // A snapshot, then the stream from the last event consumed.
  async resync(reason) {
    if (this.link.resyncing) {
      this.resyncAgain = true;
      return;
    }
    this.link.resyncing = true;
    this.link.resyncReason = reason;
    this.outOfTouch = false;
    this.closeStream();
    this.tick();
    for (;;) {
      const r = await this.api.snapshot();
      if (this.stopped) return;
      if (r.status === 401) {
        this.hooks.onSessionEnded(problemText(r));
        return;
      }
      if (r.ok) {
        this.model.applySnapshot(r.body, this.clock());
        break;
      }
      this.link.resyncReason = `${reason}; the snapshot failed: ${problemText(r)}`;
      this.tick();
      await sleep(SNAPSHOT_RETRY_MS);
      if (this.stopped) return;
    }
    this.link.resyncing = false;
    this.link.resyncReason = '';
    this.openStream();
    this.fetchWanted();
    this.tick();
    if (this.resyncAgain) {
      this.resyncAgain = false;
      this.resync('refetching again');
    }
  }

  closeStream() {
    if (this.es) {
      this.es.close();
      this.es = null;
    }
    if (this.link.streamUp) {
      this.link.streamUp = false;
      this.link.streamChangedAt = this.clock();
    }
  }

  openStream() {
    if (this.stopped) return;
    const es = new this.EventSourceImpl(this.api.eventsUrl(this.model.lastSeq));
    this.es = es;
    es.onopen = () => {
      if (es !== this.es) return;
      this.link.streamUp = true;
      this.link.streamChangedAt = this.clock();
      this.changed();
    };
    es.onerror = () => {
      if (es !== this.es) return;
      this.closeStream();
      this.changed();
      this.checkSession();
      setTimeout(() => {
        if (!this.stopped && !this.es && !this.link.resyncing) this.openStream();
      }, RETRY_MS);
    };
    for (const kind of EVENT_KINDS) es.addEventListener(kind, (m) => this.onEvent(m, es));
    es.addEventListener('heartbeat', (m) => this.onHeartbeat(m, es));
    es.addEventListener('session', (m) => {
      let why = 'the session ended';
      try {
        why = `the session ended (${JSON.parse(m.data).ended})`;
      } catch {
        /* the words above do */
      }
      this.hooks.onSessionEnded(why);
    });
    es.addEventListener('gateway', (m) => {
      if (this.hooks.onNotice) this.hooks.onNotice(m.data);
    });
  }

  async checkSession() {
    const r = await this.api.session();
    if (r.status === 401 && !this.stopped) this.hooks.onSessionEnded(problemText(r));
  }

  onEvent(m, es) {
    if (es !== this.es) return;
    let ev;
    try {
      ev = JSON.parse(m.data);
    } catch {
      this.resync('an event could not be read; refetching');
      return;
    }
    const res = this.model.feedEvent(ev, this.clock());
    if (res === 'gap' || this.model.needsResync) {
      this.resync(res === 'gap' ? this.model.sync.reason : 'the network document changed; refetching');
      return;
    }
    this.fetchWanted();
    this.changed();
  }

  onHeartbeat(m, es) {
    if (es !== this.es) return;
    let hb;
    try {
      hb = JSON.parse(m.data);
    } catch {
      return;
    }
    const now = this.clock();
    const wasOut = !this.link.brokerUp || (this.link.lastContact > 0 && now - this.link.lastContact > SILENCE_MS);
    const first = this.link.lastBeat === 0;
    takeHeartbeat(this.link, hb, now);
    if (wasOut && !first && this.link.brokerUp) {
      this.resync('the broker answers again; refetching');
      return;
    }
    this.tick();
  }

  // Asks about the alerts the model wants, a few at a time.
  fetchWanted() {
    for (const id of this.model.takeWanted()) {
      if (!this.queue.includes(id)) this.queue.push(id);
    }
    while (this.inflight < WANTED_PARALLEL && this.queue.length > 0) {
      const id = this.queue.shift();
      this.inflight++;
      this.api.status(id).then((r) => {
        this.inflight--;
        if (this.stopped) return;
        if (r.ok) {
          this.model.applyStatus(r.body);
        } else if (r.status === 404) {
          this.model.forget(id);
        } else if (r.status === 401) {
          this.hooks.onSessionEnded(problemText(r));
          return;
        } else {
          this.model.wanted.add(id); // asked again with the next event or refetch
        }
        this.fetchWanted();
        this.changed();
      });
    }
  }

  // After an action: what the broker now says about the alert.
  async refresh(id) {
    const r = await this.api.status(id);
    if (r.ok && !this.stopped) {
      this.model.applyStatus(r.body);
      this.changed();
    }
  }
}
