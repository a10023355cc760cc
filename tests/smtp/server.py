"""An SMTP server for Sekimori's email-receiver tests, on aiosmtpd.

Usage: server.py CERT KEY OUTDIR USER PASSWORD [starttls|tls]

Listens on 127.0.0.1 on a free port and prints "READY <port>" once it accepts
connections. With `starttls` (the default) STARTTLS is required before AUTH and MAIL
(aiosmtpd's require_starttls); with `tls` the connection is TLS from the first byte (port
465's implicit TLS).
and AUTH (PLAIN or LOGIN) must succeed with USER and PASSWORD before MAIL. Each message
received is written to OUTDIR as <n>.eml (the raw message, as the client sent it) with
<n>.json beside it: the envelope, whether the session was TLS and authenticated, and the
message decoded by Python's own email parser (subject, From, To, text and HTML parts).
"""

import asyncio
import email
import email.policy
import json
import os
import socket
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd 1.4.6 warns about its own use of a deprecated attribute on every session, and
# about AUTH without STARTTLS on the implicit-TLS server (whose whole connection is TLS).
warnings.filterwarnings("ignore")


def main():
    cert, key, outdir, user, password = sys.argv[1:6]
    mode = sys.argv[6] if len(sys.argv) > 6 else "starttls"
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    count = {"n": 0}

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            count["n"] += 1
            n = count["n"]
            with open(os.path.join(outdir, f"{n}.eml"), "wb") as f:
                f.write(envelope.original_content or envelope.content)
            raw = envelope.original_content or envelope.content
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            text = msg.get_body(preferencelist=("plain",))
            html = msg.get_body(preferencelist=("html",))
            meta = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                # STARTTLS sets session.ssl; implicit TLS shows on the transport.
                "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                "authenticated": session.authenticated,
                "subject": str(msg["subject"]),
                "from": str(msg["from"]),
                "to": str(msg["to"]),
                "content_type": msg.get_content_type(),
                "text": text.get_content() if text is not None else None,
                "html": html.get_content() if html is not None else None,
            }
            with open(os.path.join(outdir, f"{n}.json"), "w") as f:
                json.dump(meta, f)
            return "250 OK stored"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
        # handled=False: aiosmtpd answers "535 5.7.8" itself on a failure.
        return AuthResult(success=ok, handled=False)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    if mode == "tls":
        # Implicit TLS: aiosmtpd's readiness check cannot speak TLS, so it is not run.
        controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=port,
            ssl_context=context,
            authenticator=authenticator,
            auth_required=True,
            # The whole connection is TLS; aiosmtpd only counts STARTTLS as TLS here.
            auth_require_tls=False,
            ready_timeout=5,
        )
    else:
        controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=True,
            server_hostname="localhost",
        )
    controller.start()
    print(f"READY {port}", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
