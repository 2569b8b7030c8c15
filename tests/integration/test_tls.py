"""Spec §10: self-signed TLS made on first boot (ECDSA P-256, SANs, 10 years),
kept in the data dir, TLS 1.2+ only, fingerprint printed; Secure cookie."""
import hashlib
import os
import socket
import ssl
import subprocess
import warnings

from conftest import ADMIN_PW, ADMIN_USER


def fetch_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            return t.getpeercert(binary_form=True), t.version()


def test_self_signed_tls_first_boot(make_resetd):
    srv = make_resetd(tls=True)
    der, version = fetch_cert(srv.port)
    assert version in ("TLSv1.2", "TLSv1.3"), version
    pem = ssl.DER_cert_to_PEM_cert(der)
    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem, capture_output=True,
                          text=True, check=True).stdout
    assert "id-ecPublicKey" in text and ("prime256v1" in text or "P-256" in text), text
    assert "DNS:localhost" in text and "IP Address:127.0.0.1" in text, text
    dates = subprocess.run(["openssl", "x509", "-noout", "-checkend", str(9 * 365 * 86400)], input=pem,
                           capture_output=True, text=True)
    assert dates.returncode == 0, "certificate valid for less than 9 years"
    fp = hashlib.sha256(der).hexdigest().upper()
    out = srv.stderr().upper().replace(":", "")
    assert fp in out, "SHA-256 fingerprint not printed at start"

    # TLS 1.1 is refused
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        old_ok = True
    except (ValueError, ssl.SSLError):
        old_ok = False
    if old_ok:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            try:
                with ctx.wrap_socket(s) as t:
                    accepted = t.version()
            except (ssl.SSLError, OSError):
                accepted = None
        assert accepted is None, "server accepted %s" % accepted

    admin = srv.admin()
    r = srv.client().sign_in(ADMIN_USER, ADMIN_PW)
    assert r.status == 200
    sc = [v for k, v in r.header_list if k.lower() == "set-cookie"][0].lower()
    assert "secure" in [f.strip() for f in sc.split(";")], sc
    assert admin.get("users").status == 200

    # kept across restarts
    srv.restart()
    der2, _ = fetch_cert(srv.port)
    assert der2 == der, "certificate changed on restart"


def _tls12_only_handshake(port):
    """The TLS version a client limited to TLS 1.2 gets, or None when refused."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s) as t:
                return t.version()
    except (ssl.SSLError, OSError):
        return None


def test_openssl_cnf_min_protocol_is_raised_never_lowered(make_resetd, workdir):
    """Issue 18 item 8: the server set TLS 1.2 as its floor over an operator's openssl.cnf
    `MinProtocol = TLSv1.3`. The floor is only ever raised."""
    srv = make_resetd(tls=True)
    assert _tls12_only_handshake(srv.port) == "TLSv1.2"
    srv.stop()

    conf = os.path.join(workdir, "openssl-tls13.cnf")
    with open(conf, "w") as f:
        f.write("openssl_conf = openssl_init\n\n[openssl_init]\nssl_conf = ssl_sect\n\n"
                "[ssl_sect]\nsystem_default = system_default_sect\n\n"
                "[system_default_sect]\nMinProtocol = TLSv1.3\n")
    srv.env = {"OPENSSL_CONF": conf}  # the server's only; this client keeps the system's
    srv.start()
    assert _tls12_only_handshake(srv.port) is None, "TLS 1.2 accepted despite MinProtocol = TLSv1.3"
    _, version = fetch_cert(srv.port)
    assert version == "TLSv1.3", version
