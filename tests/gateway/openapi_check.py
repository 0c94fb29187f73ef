#!/usr/bin/env python3
"""Checks docs/openapi.yaml against a running vigil-gateway.

Run by test_gateway_openapi (which starts the broker and two gateways):

    openapi_check.py SPEC SENDER_URL SENDER_TOKEN RECIPIENT_URL RECIPIENT_TOKEN \
        ALERT_ID CAP_FILE OFFICER PASSWORD

Every operation of the document is called: without a token (a documented
401 problem; a login without one is the login, refused for its body), and
as a client would (the documented status, content type and body shape);
the session routes as the web console calls them, with the recipient's
officer's cookie and CSRF token. Every operation must be reached; every JSON body must
validate against its schema (a small JSON Schema subset: $ref, type,
properties, required, items, enum, pattern, length limits). Standard
library and PyYAML only. Exit 0 when everything holds, 1 with the reasons.
"""
import json
import re
import sys
import urllib.error
import urllib.request

import yaml

FAILURES = []
REACHED = set()


def fail(msg):
    FAILURES.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        path = node["$ref"].lstrip("#/").split("/")
        node = spec
        for p in path:
            node = node[p]
    return node


def validate(spec, schema, value, where):
    schema = resolve(spec, schema)
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        ok = False
        for t in types:
            ok |= (t == "null" and value is None) or \
                  (t == "string" and isinstance(value, str)) or \
                  (t == "integer" and isinstance(value, int) and not isinstance(value, bool)) or \
                  (t == "boolean" and isinstance(value, bool)) or \
                  (t == "array" and isinstance(value, list)) or \
                  (t == "object" and isinstance(value, dict))
        if not ok:
            fail("%s: %r is not %s" % (where, value, types))
            return
    if "enum" in schema and value not in schema["enum"]:
        fail("%s: %r is not one of %s" % (where, value, schema["enum"]))
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            fail("%s: %r does not match %s" % (where, value, schema["pattern"]))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            fail("%s: longer than %d" % (where, schema["maxLength"]))
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                fail("%s: the required key '%s' is missing" % (where, key))
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                validate(spec, sub, value[key], where + "." + key)
        if schema.get("additionalProperties") is False:
            for key in value:
                if key not in schema.get("properties", {}):
                    fail("%s: key '%s' is not in the schema" % (where, key))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            fail("%s: fewer than %d items" % (where, schema["minItems"]))
        if "items" in schema:
            for i, item in enumerate(value):
                validate(spec, schema["items"], item, "%s[%d]" % (where, i))


def call(method, url, token=None, body=None, ctype=None, headers=None, stream=False):
    req = urllib.request.Request(url, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if ctype:
        req.add_header("Content-Type", ctype)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        resp = urllib.request.urlopen(req, timeout=20)
    except urllib.error.HTTPError as e:
        resp = e
    status = resp.status if hasattr(resp, "status") else resp.code
    if stream:  # read up to the first event
        data = b""
        while b"\n\n" not in data.split(b"data: ", 1)[-1] or b"data: " not in data:
            chunk = resp.read1(4096) if hasattr(resp, "read1") else resp.read(1)
            if not chunk:
                break
            data += chunk
        resp.close()
    else:
        data = resp.read()
    return status, resp.headers.get("Content-Type", ""), resp.headers, data


def check(spec, op_path, method, status, ctype, headers, body, what):
    """Holds a response against the document's operation."""
    op = spec["paths"][op_path][method.lower()]
    REACHED.add(op["operationId"])
    responses = op["responses"]
    doc = responses.get(str(status))
    if doc is None:
        fail("%s: status %d is not documented for %s %s" % (what, status, method, op_path))
        return None
    doc = resolve(spec, doc)
    media = ctype.split(";")[0].strip()
    content = doc.get("content", {})
    if content and media not in content:
        fail("%s: content type '%s' is not documented (%s)" % (what, media, list(content)))
        return None
    for name in doc.get("headers", {}):
        if headers.get(name) is None:
            fail("%s: header %s is documented but missing" % (what, name))
    schema = content.get(media, {}).get("schema")
    if media.endswith("json") and schema is not None:
        try:
            value = json.loads(body)
        except ValueError as e:
            fail("%s: not JSON: %s" % (what, e))
            return None
        validate(spec, schema, value, what)
        return value
    return body


def check_sessions(spec, url, officer, password):
    """Log in, who am I, keepalive, log out: as the web console does."""
    j = "application/json"
    body = json.dumps({"name": officer, "password": password}).encode()
    st, ct, hd, data = call("POST", url + "/v1/session", body=body, ctype=j)
    if st != 201:
        fail("POST /v1/session: %d %s" % (st, data[:200]))
        return
    session = check(spec, "/v1/session", "POST", st, ct, hd, data, "POST /v1/session")
    cookie = hd.get("Set-Cookie", "").split(";")[0]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        if flag not in hd.get("Set-Cookie", ""):
            fail("POST /v1/session: the cookie is not %s" % flag)
    csrf = {"Cookie": cookie, "X-CSRF-Token": session["csrf"]}
    calls = [("GET", "/v1/session", {"Cookie": cookie}, 200),
             ("POST", "/v1/session/keepalive", csrf, 200),
             ("POST", "/v1/session/keepalive", {"Cookie": cookie}, 403),
             ("GET", "/v1/snapshot", {"Cookie": cookie}, 200),
             ("DELETE", "/v1/session", csrf, 200),
             ("GET", "/v1/session", {"Cookie": cookie}, 401)]
    for method, path, headers, want in calls:
        st, ct, hd, data = call(method, url + path, headers=headers)
        if st != want:
            fail("%s %s (session): %d, expected %d: %s" % (method, path, st, want, data[:200]))
        check(spec, path, method, st, ct, hd, data, "%s %s (session)" % (method, path))


def main():
    spec_path, a_url, a_tok, b_url, b_tok, alert_id, cap_file, officer, password = sys.argv[1:10]
    spec = yaml.safe_load(open(spec_path))
    assert spec["openapi"].startswith("3.1"), "an OpenAPI 3.1 document"
    ops = {(p, m.upper()) for p, item in spec["paths"].items() for m in item
           if m in ("get", "post", "put", "delete", "patch")}

    def concrete(path):
        return path.replace("{id}", alert_id).replace("{agency}", "licensing")

    # Without a token, every operation is a documented 401 problem.
    for path, method in sorted(ops):
        st, ct, hd, body = call(method, a_url + concrete(path), body=b"{}" if method == "POST"
                                else None, ctype="application/json" if method == "POST" else None)
        want = 400 if (path, method) == ("/v1/session", "POST") else 401  # {} is no login
        if st != want:
            fail("%s %s without a token: %d" % (method, path, st))
        check(spec, path, method, st, ct, hd, body, "%s %s (no token)" % (method, path))

    j = "application/json"
    alert = json.dumps({"severity": "low", "categories": ["other"], "to": ["licensing"],
                        "headline": "checked against the OpenAPI document"}).encode()
    cases = [
        (a_url, a_tok, "POST", "/v1/alerts", alert, j, {"Idempotency-Key": "openapi-1"}, 201),
        (a_url, a_tok, "POST", "/v1/alerts?to=licensing&category=other",
         open(cap_file, "rb").read(), "application/cap+xml", {}, 201),
        (a_url, a_tok, "POST", "/v1/alerts", b"{\"severity\":", j, {}, 400),
        (a_url, a_tok, "POST", "/v1/alerts", b"hello", "text/plain", {}, 415),
        (a_url, a_tok, "GET", "/v1/alerts?outstanding=1", None, None, {}, 200),
        (a_url, a_tok, "GET", "/v1/alerts?overdue=1", None, None, {}, 200),
        (a_url, a_tok, "GET", "/v1/alerts/{id}", None, None, {}, 200),
        (a_url, a_tok, "GET", "/v1/alerts/{id}", None, None,
         {"Accept": "application/cap+xml"}, 200),
        (a_url, a_tok, "GET", "/v1/alerts/" + "0" * 32, None, None, {}, 404),
        (b_url, b_tok, "POST", "/v1/alerts/{id}/progress",
         b"{\"reason\":\"looking into it\",\"officer\":\"PC Ahmed\"}", j, {}, 200),
        (b_url, b_tok, "POST", "/v1/alerts/{id}/ack", b"{\"officer\":\"PC Ahmed\"}", j, {}, 200),
        (b_url, b_tok, "POST", "/v1/alerts/{id}/ack", b"{\"note\":\"who?\"}", j, {}, 422),
        (b_url, b_tok, "POST", "/v1/alerts/{id}/share",
         b"{\"to\":\"home-office\",\"reason\":\"for the record\"}", j, {}, 200),
        (b_url, b_tok, "POST", "/v1/alerts/{id}/decline", b"{\"reason\":\"not ours\"}", j, {},
         None),
        (a_url, a_tok, "GET", "/v1/alerts/{id}/receipts/{agency}", None, None, {}, 200),
        (a_url, a_tok, "GET", "/v1/alerts/{id}/receipts/{agency}", None, None,
         {"Accept": "application/cap+xml"}, 200),
        (a_url, a_tok, "GET", "/v1/health", None, None, {}, 200),
        (a_url, a_tok, "GET", "/metrics", None, None, {}, 200),
        (a_url, a_tok, "GET", "/v1/events", None, None, {"Last-Event-ID": "0"}, 200),
        (a_url, a_tok, "GET", "/v1/events", None, None, {"Last-Event-ID": "x"}, 400),
        (a_url, a_tok, "GET", "/v1/snapshot", None, None, {}, 200),
        (b_url, b_tok, "GET", "/v1/alerts/{id}/detail", None, None, {}, 200),
        (b_url, None, "POST", "/v1/session",
         json.dumps({"name": officer, "password": "not " + password}).encode(), j, {}, 401),
    ]
    for url, tok, method, path, body, ctype, headers, want in cases:
        spec_path_of = path.split("?")[0]
        spec_path_of = re.sub(r"^/v1/alerts/[0-9a-f]{32}", "/v1/alerts/{id}", spec_path_of)
        spec_path_of = spec_path_of.replace(alert_id, "{id}").replace("/licensing",
                                                                      "/{agency}")
        stream = path == "/v1/events" and want == 200
        st, ct, hd, data = call(method, url + concrete(path), tok, body, ctype, headers, stream)
        what = "%s %s" % (method, path)
        if want is not None and st != want:
            fail("%s: %d, expected %d: %s" % (what, st, want, data[:300]))
        if stream:
            text = data.decode()
            m = re.search(r"^data: (.*)$", text, re.M)
            if not ct.startswith("text/event-stream") or m is None:
                fail("%s: not an event stream: %s %r" % (what, ct, text[:200]))
            else:
                schema = spec["paths"]["/v1/events"]["get"]["responses"]["200"]["content"][
                    "text/event-stream"]["x-event-data"]
                validate(spec, schema, json.loads(m.group(1)), what + " data")
                REACHED.add("events")
            continue
        check(spec, spec_path_of, method, st, ct, hd, data, what)
        if path == "/metrics" and not data.startswith(b"# HELP vigil_gateway_"):
            fail("/metrics: not the Prometheus text format")
    check_sessions(spec, b_url, officer, password)
    every = {resolve(spec, spec["paths"][p][m.lower()])["operationId"] for p, m in ops}
    for op in sorted(every - REACHED):
        fail("operation %s was never reached" % op)
    print("openapi_check: %d operations, %d calls, %d failures" %
          (len(every), len(cases) + len(ops), len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
