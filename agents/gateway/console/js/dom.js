// dom.js — small DOM helpers. Text always goes in as text (textContent,
// never markup), so nothing an alert says can become script or style; the
// page's Content-Security-Policy forbids inline script and style anyway.

// el('p', {class: 'x', 'aria-live': 'polite'}, 'text', child, ...): an
// element. Attributes with value null, undefined or false are left out;
// true sets an empty attribute. `on` takes {event: handler}.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    } else if (k === 'text') {
      e.textContent = String(v);
    } else {
      e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(e, children);
  return e;
}

export function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return parent;
}

// Text only visible to screen readers.
export function vh(text) {
  return el('span', { class: 'vh' }, text);
}

export function byId(id) {
  return document.getElementById(id);
}

// Sets text only when it changed (live regions announce changes, not ticks).
export function setText(node, text) {
  const t = String(text);
  if (node.textContent !== t) node.textContent = t;
}

// Replaces node's children.
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

// A link only for http(s) addresses; anything else stays text.
export function safeLink(url) {
  let u = null;
  try {
    u = new URL(String(url));
  } catch {
    u = null;
  }
  if (u && (u.protocol === 'https:' || u.protocol === 'http:')) {
    return el('a', { href: u.href, rel: 'noopener noreferrer', target: '_blank' }, String(url), vh(' (opens in a new tab)'));
  }
  return document.createTextNode(String(url));
}
