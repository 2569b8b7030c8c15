#!/usr/bin/python3
"""A recording SMTP relay for the integration tests, built on python3-aiosmtpd.

Run with Debian's /usr/bin/python3 (python3-aiosmtpd). Every accepted message is
written to OUT_DIR as NNNN.eml (the exact bytes received after DATA, CRLF kept)
and NNNN.json (envelope and whether the session was under TLS), each written
atomically (temp file + rename, the .json last so that it marks completion).

  smtp_relay.py --port P --out DIR [--mode plain|starttls|tls] [--cert C --key K]
                [--reject-rcpt "451 4.7.1 text"]

--mode starttls requires STARTTLS before MAIL (require_starttls=True);
--mode tls is implicit TLS on connect. Prints "READY" on stdout once listening;
runs until SIGTERM/SIGINT. Binds 127.0.0.1 only.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class RecordingHandler:
    def __init__(self, out_dir, reject_rcpt=None):
        self.out_dir = out_dir
        self.reject_rcpt = reject_rcpt
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt:
            return self.reject_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.out_dir, "%04d" % n)
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        with open(base + ".eml.tmp", "wb") as f:
            f.write(raw)
        os.rename(base + ".eml.tmp", base + ".eml")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None
                   or server.transport.get_extra_info("ssl_object") is not None,
            "peer": list(session.peer) if session.peer else None,
            "host_name": session.host_name,
            "authenticated": bool(session.authenticated),
            "login": (session.login_data.decode() if isinstance(session.login_data, bytes)
                      else session.login_data),
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as test%04d" % n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=["plain", "starttls", "tls"], default="plain")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--reject-rcpt")
    ap.add_argument("--auth-user", help="require AUTH with this user name")
    ap.add_argument("--auth-pass")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    handler = RecordingHandler(a.out, a.reject_rcpt)
    kwargs = {}
    if a.mode in ("starttls", "tls"):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        if a.mode == "starttls":
            kwargs["tls_context"] = ctx
            kwargs["require_starttls"] = True
        else:
            kwargs["ssl_context"] = ctx

    if a.auth_user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == a.auth_user.encode()
                  and auth_data.password == a.auth_pass.encode())
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True

    if a.mode == "tls":
        # Controller's readiness probe speaks plain TCP; with implicit TLS it
        # cannot complete, so skip the probe by starting the server ourselves.
        from aiosmtpd.smtp import SMTP

        loop = asyncio.new_event_loop()

        def factory():
            extra = {k: v for k, v in kwargs.items() if k in ("authenticator", "auth_required")}
            return SMTP(handler, hostname="relay.test", **extra)

        server = loop.run_until_complete(
            loop.create_server(factory, host="127.0.0.1", port=a.port, ssl=kwargs["ssl_context"]))
        print("READY", flush=True)

        def stop(*_):
            loop.call_soon_threadsafe(loop.stop)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        loop.run_forever()
        server.close()
        return 0

    controller = Controller(handler, hostname="127.0.0.1", port=a.port,
                            server_hostname="relay.test", **kwargs)
    controller.start()
    print("READY", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
