// api.js — the gateway's HTTP API as the console uses it: same-origin
// fetches that send the session cookie (HttpOnly: this code never sees it)
// and, on every request that changes something, the session's CSRF token.
// Errors come back as RFC 9457 problems; every call resolves to
// {ok, status, body} and never throws for an HTTP answer (a network
// failure is status 0).

export class Api {
  constructor(base = '') {
    this.base = base;
    this.csrf = null; // the session's CSRF token (from /v1/session)
  }

  async request(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    let resp;
    try {
      resp = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'error',
      });
    } catch (err) {
      return { ok: false, status: 0, body: { detail: `the gateway cannot be reached (${err.message})` } };
    }
    let parsed = null;
    const type = resp.headers.get('Content-Type') || '';
    if (type.includes('json')) {
      try {
        parsed = await resp.json();
      } catch {
        parsed = null;
      }
    }
    return { ok: resp.ok, status: resp.status, body: parsed || {} };
  }

  // Who is logged in: 200 with the session (and its CSRF token), or 401.
  async session() {
    const r = await this.request('GET', '/v1/session');
    this.csrf = r.ok ? r.body.csrf : null;
    return r;
  }

  async login(name, password) {
    const r = await this.request('POST', '/v1/session', { name, password });
    this.csrf = r.ok ? r.body.csrf : null;
    return r;
  }

  async logout() {
    const r = await this.request('DELETE', '/v1/session');
    this.csrf = null;
    return r;
  }

  keepalive() {
    return this.request('POST', '/v1/session/keepalive');
  }

  snapshot() {
    return this.request('GET', '/v1/snapshot');
  }

  status(id) {
    return this.request('GET', `/v1/alerts/${encodeURIComponent(id)}`);
  }

  detail(id) {
    return this.request('GET', `/v1/alerts/${encodeURIComponent(id)}/detail`);
  }

  // verb: ack, progress, decline, share. The officer is the one logged in.
  receipt(id, verb, body) {
    return this.request('POST', `/v1/alerts/${encodeURIComponent(id)}/${verb}`, body);
  }

  // The event stream after seq, with heartbeats (the cookie goes with it).
  eventsUrl(after) {
    return `${this.base}/v1/events?heartbeat=1&after=${after}`;
  }
}

// A problem's words for people.
export function problemText(r) {
  const b = r.body || {};
  if (b.detail) return b.detail;
  if (b.title) return b.title;
  return r.status === 0 ? 'the gateway cannot be reached' : `the gateway answered ${r.status}`;
}
