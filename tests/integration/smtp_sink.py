#!/usr/bin/python3
"""smtp_sink.py — a local SMTP relay for the notification tests (Debian's
python3-aiosmtpd). It offers STARTTLS with the certificate it is given and
refuses mail on a connection that did not start TLS, as an agency's relay
should. Each accepted message becomes DIR/N.eml: first the lines
"X-Sink-Rcpt: ADDRESS" (one per envelope recipient), "X-Sink-From: ADDRESS"
and "X-Sink-TLS: yes|no", then the message as received.

usage: smtp_sink.py PORT DIR CERT KEY [USER PASSWORD]
       smtp_sink.py PORT DIR --no-tls   (a relay that offers no STARTTLS)
Writes DIR/ready once listening; stops on SIGTERM.
"""
import asyncio
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        tls = "yes" if session.ssl is not None else "no"
        head = "".join("X-Sink-Rcpt: %s\r\n" % r for r in envelope.rcpt_tos)
        head += "X-Sink-From: %s\r\nX-Sink-TLS: %s\r\n" % (envelope.mail_from, tls)
        tmp = os.path.join(self.out, "%d.tmp" % self.n)
        with open(tmp, "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.out, "%d.eml" % self.n))
        return "250 OK"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    plain = sys.argv[3] == "--no-tls"
    user = sys.argv[5].encode() if len(sys.argv) > 6 else None
    password = sys.argv[6].encode() if len(sys.argv) > 6 else None
    ctx = None
    if not plain:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])

    def auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == user and data.password == password
        return AuthResult(success=ok)

    kw = {} if plain else {"tls_context": ctx, "require_starttls": True}
    if user is not None:
        kw.update(auth_required=True, authenticator=auth)
    c = Controller(Sink(out), hostname="127.0.0.1", port=port, **kw)
    c.start()
    with open(os.path.join(out, "ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    stop = asyncio.new_event_loop()
    stop.add_signal_handler(signal.SIGTERM, stop.stop)
    stop.add_signal_handler(signal.SIGINT, stop.stop)
    stop.run_forever()
    c.stop()


if __name__ == "__main__":
    main()
