// link_kinds.test.mjs — the web console listens for every event kind the
// agent library names (agents/lib/src/agent_track.c, vga_event_kind_name):
// an EventSource drops an event whose kind has no listener, the next one is
// then a gap, and the page refetches from the same place for ever (a
// repeat_warning once kept two consoles from ever being LIVE).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { EVENT_KINDS } from '../../../agents/gateway/console/js/link.js';

const here = path.dirname(fileURLToPath(import.meta.url));

test('every event kind of the agent library has a listener', () => {
  const c = fs.readFileSync(path.join(here, '../../../agents/lib/src/agent_track.c'), 'utf8');
  const m = /vga_event_kind_name\(vga_event_kind k\)\s*\{\s*static const char \*const names\[\] = \{([^}]*)\}/.exec(c);
  assert.ok(m, 'the names array of vga_event_kind_name is where it was');
  const names = [...m[1].matchAll(/"([a-z_]+)"/g)].map((x) => x[1]);
  assert.ok(names.length >= 20, `read ${names.length} names`);
  assert.deepEqual(names.filter((n) => !EVENT_KINDS.includes(n)), []);
});
