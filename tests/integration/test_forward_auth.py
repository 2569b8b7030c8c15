"""Issue 11 / spec §12: forward auth for the appliance's other web apps, tested through a
real nginx (Debian package) with auth_request and through Debian's caddy with forward_auth,
both running the guide's snippets as written (read out of docs/forward-auth.md between the
`<!-- test:nginx-forward-auth -->` / `<!-- test:caddy-forward-auth -->` markers; only the
placeholders in NGINX_PLACEHOLDERS / CADDY_PLACEHOLDERS are swapped for test ports and
files), in front of an "app" that echoes every header it received.

Issue 18: host rules deny hosts without a rule (item 4), the cookie sibling hosts get is
good for /auth/verify only (item 5), and a client's own Remote-* never reaches the app
(item 6). nginx and caddy run as children on free 127.0.0.1 ports with their own prefix,
pid file and logs in the test's temp dir; every wait is bounded."""
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.parse

import pytest

from conftest import (ADMIN_PW, ADMIN_USER, REPO, Client, assert_error_json, free_port, make_cert, port_open, strong_password,
                      wait_until)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CADDY = shutil.which("caddy") or "/usr/bin/caddy"
WIKI = "wiki.appliance.example"  # the app's host name, as the guide's snippets write it out
WIKI_ORIGIN = "https://" + WIKI
GUIDE = "docs/forward-auth.md"  # where the proxies' snippets are documented, read as written


def readme_snippet(marker):
    """The fenced block right after `<!-- test:MARKER -->` in the guide (GUIDE)."""
    text = open(os.path.join(REPO, GUIDE), encoding="utf-8").read()
    tag = "<!-- test:%s -->" % marker
    assert text.count(tag) == 1, "%s must hold exactly one %s" % (GUIDE, tag)
    rest = text[text.index(tag) + len(tag):].lstrip("\n")
    assert rest.startswith("```"), "a fenced block must follow %s" % tag
    body = rest[rest.index("\n") + 1:]
    return body[:body.index("```")]


def substitute(snippet, placeholders):
    """Swaps each guide placeholder (it must be there: else guide and test drifted)."""
    for old, new in placeholders.items():
        assert old in snippet, "guide's snippet lost the placeholder %r" % old
        snippet = snippet.replace(old, new)
    return snippet


# What an attacker's browser adds, hoping the app believes it (item 6).
FORGED = {"Remote-User": "forged-user", "Remote-Name": "Forged Name", "Remote-Email": "forged@evil.example",
          "Remote-Groups": "global_admin", "Remote_Email": "forged2@evil.example",
          "Remote-Factors": "password,totp",
          "X-Forwarded-Host": "forged.example"}


class EchoApp:
    """The upstream app: answers 200 with every request header it got, as JSON pairs."""

    def __init__(self):
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                b = json.dumps([[k, v] for k, v in self.headers.items()]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def remote_headers(resp):
    """{"remote-user": [values…], …} of what the app saw: every spelling of Remote-*
    (any case, '_' for '-'), so a forged duplicate shows up as a second value."""
    assert resp is not None and resp.status == 200, resp
    seen = {}
    for k, v in json.loads(resp.body):
        k = k.lower().replace("_", "-")
        if k.startswith("remote-"):
            seen.setdefault(k, []).append(v)
    return seen


class _SniConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1:port with the TLS server name `sni` (None: none, as for an IP)."""

    def __init__(self, port, sni, timeout=15):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        super().__init__("127.0.0.1", port, timeout=timeout, context=ctx)
        self._sni = sni

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._sni)


class Proxied:
    """A response from the proxy; None from proxy_get when it shut the door (444, TLS refused)."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return "<Proxied %d %r>" % (self.status, self.body[:300])


def proxy_get(port, path="/", host=WIKI, sni=WIKI, cookies=None, headers=None, tls=True):
    h = {"Host": host}
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    h.update(headers or {})
    c = _SniConnection(port, sni) if tls else http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        c.request("GET", path, headers=h)
        r = c.getresponse()
        return Proxied(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    except (http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError):
        return None
    finally:
        c.close()


NGINX_WRAPPER = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
{snippet}
}}
"""


class Nginx:
    """Debian's nginx running the guide's block, in front of an EchoApp."""

    def __init__(self, base, resetd_port, app_port):
        self.prefix = os.path.join(base, "nginx")
        os.makedirs(self.prefix)
        os.chmod(base, 0o755)
        self.proxy_port = free_port()
        cert, key = make_cert(self.prefix)
        placeholders = {
            "listen 443 ssl": "listen 127.0.0.1:%d ssl" % self.proxy_port,
            "/etc/ssl/wiki.appliance.example.pem": cert,
            "/etc/ssl/wiki.appliance.example.key": key,
            "https://127.0.0.1:8443": "https://127.0.0.1:%d" % resetd_port,
            "http://127.0.0.1:8080": "http://127.0.0.1:%d" % app_port,
        }
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_WRAPPER.format(prefix=self.prefix,
                                         snippet=substitute(readme_snippet("nginx-forward-auth"), placeholders)))
        self.proc = None

    def start(self):
        r = subprocess.run([NGINX, "-t", "-p", self.prefix, "-c", self.conf], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, "nginx -t: %s" % r.stderr
        self.proc = subprocess.Popen([NGINX, "-p", self.prefix, "-c", self.conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.proxy_port) or self.proc.poll() is not None, timeout=10,
                   what="nginx listening")
        assert self.proc.poll() is None, "nginx exited: %s" % self.log()
        return self

    def get(self, path="/", **kw):
        return proxy_get(self.proxy_port, path, **kw)

    def log(self):
        p = os.path.join(self.prefix, "error.log")
        return open(p).read()[-4000:] if os.path.exists(p) else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def fa_toml(origins, rules=None, cookie_domain=""):
    lines = ["[forward_auth]", "enabled = true",
             "allowed_redirect_origins = [%s]" % ", ".join('"%s"' % o for o in origins),
             'cookie_domain = "%s"' % cookie_domain]
    if rules:
        lines.append("[forward_auth.rules]")
        lines += ['"%s" = [%s]' % (h, ", ".join('"%s"' % r for r in roles)) for h, roles in rules.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_fa(make_resetd, workdir):
    """make_fa(rules=…, cookie_domain=…) -> (resetd over TLS with forward auth on and the
    wiki's origin allowed, nginx running the guide's block in front of an EchoApp)."""
    made = []

    def make(rules=None, cookie_domain=""):
        srv = make_resetd(start=False, tls=True)
        srv.extra_toml = fa_toml([WIKI_ORIGIN], rules=rules, cookie_domain=cookie_domain)
        srv.write_config()
        srv.start()
        app = EchoApp()
        made.append(app)
        ng = Nginx(os.path.join(workdir, "n%d" % len(made)), srv.port, app.port)
        made.append(ng)
        ng.start()
        return srv, ng
    yield make
    for m in reversed(made):
        m.stop()


@pytest.fixture
def fa(make_fa):
    return make_fa(rules={WIKI: ["user", "global_admin"]})


def session_of(c):
    return {"resetd_session": c.cookies["resetd_session"]}


def test_signed_out_redirects_to_sign_in_with_rd_then_upstream_sees_the_user(fa):
    srv, ng = fa
    admin = srv.admin()
    pw = strong_password()
    uid = admin.create_user("kiosk.ann", display_name="Ann Kiosk", email="ann@example.org",
                            password=pw).json["user"]["id"]

    # signed out: nginx answers 302 to resetd's sign-in page with rd = the page asked for
    r = ng.get("/wiki/page?x=1&y=2")
    assert r is not None and r.status == 302, (r, ng.log())
    loc = r.headers["location"]
    want_rd = WIKI_ORIGIN + "/wiki/page?x=1&y=2"
    assert loc.startswith(srv.public_url + "/?rd="), loc
    assert loc.endswith("#/signin"), loc
    rd = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["rd"][0]
    assert rd == want_rd, (rd, want_rd)

    # sign in with that rd: resetd hands it back (it is a configured origin)
    c = srv.client()
    r = c.post("session", {"username": "kiosk.ann", "password": pw, "rd": rd}, csrf=False)
    assert r.status == 200, r
    assert r.json["redirect"] == want_rd

    # the browser follows it: nginx lets it through, the app sees who it is
    seen = remote_headers(ng.get("/wiki/page?x=1&y=2", cookies=session_of(c)))
    assert seen == {"remote-user": ["kiosk.ann"], "remote-name": ["Ann Kiosk"],
                    "remote-email": ["ann@example.org"], "remote-groups": ["user"],
                    "remote-factors": ["password"]}, seen

    # signed out, a forged header gets nowhere but the sign-in page
    r = ng.get("/", headers=FORGED)
    assert r.status == 302 and "#/signin" in r.headers["location"], r

    # the admin resets that user's password: the session is gone, the proxy refuses
    r = admin.reset(uid, notify=[], notify_user=False)
    assert r.status == 200, r
    r = ng.get("/wiki/page", cookies=session_of(c))
    assert r.status == 302 and "#/signin" in r.headers["location"], r
    assert c.get("session").status == 401


def test_readme_nginx_never_lets_a_client_sent_remote_header_reach_the_app(fa):
    """Issue 18 item 6: all four Remote-* come from resetd's answer — also where resetd's is
    empty (the initial admin has no email): then the app sees none at all."""
    srv, ng = fa
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("forge.gil", display_name="Gil Real", email="gil@example.org", password=pw)
    c = srv.client()
    c.must_sign_in("forge.gil", pw)
    seen = remote_headers(ng.get("/", cookies=session_of(c), headers=FORGED))
    assert seen == {"remote-user": ["forge.gil"], "remote-name": ["Gil Real"],
                    "remote-email": ["gil@example.org"], "remote-groups": ["user"],
                    "remote-factors": ["password"]}, seen
    me = admin.get("session").json["user"]
    assert not me.get("email") and me["display_name"], me  # what the next check relies on
    seen = remote_headers(ng.get("/", cookies=session_of(admin), headers=FORGED))
    assert seen == {"remote-user": ["admin"], "remote-name": [me["display_name"]],
                    "remote-groups": ["global_admin"], "remote-factors": ["password"]}, seen


def test_foreign_rd_is_refused(make_resetd):
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml([WIKI_ORIGIN])
    srv.write_config()
    srv.start()
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("rd.bob", password=pw)
    ok_origin = WIKI_ORIGIN
    foreign = [
        "https://evil.example/", "//evil.example/x", "///evil.example", "http:/evil.example",
        ok_origin + "@evil.example/", "https://%s.evil.example/" % WIKI,
        "https://evil.example\\@%s/" % WIKI, "http:\\\\evil.example",
        "/\\evil.example", "javascript:alert(1)", "data:text/html,x",
        "http%3A%2F%2Fevil.example", "%2F%2Fevil.example", "http://evil%2eexample/",
        "https://%s%%3A443@evil.example/" % WIKI, "http://%s/" % WIKI, "https://%s:8443/" % WIKI,
        ok_origin + "\r\nSet-Cookie: x=1", " " + ok_origin + "/", "HTTP://EVIL.EXAMPLE/",
        "https://user:pass@%s/" % WIKI, "", "relative/path", "/local/path",
    ]
    admin_c = srv.client()
    admin_c.must_sign_in("rd.bob", pw)
    for rd in foreign:
        r = admin_c.get("auth/redirect?rd=" + urllib.parse.quote(rd, safe=""))
        assert_error_json(r, 422, "redirect_not_allowed")
        c = srv.client()
        r = c.post("session", {"username": "rd.bob", "password": pw, "rd": rd}, csrf=False)
        assert r.status == 200 and r.json["redirect"] is None, (rd, r.json)
    # the allowed origin, also with the default port spelled out or upper case host
    for rd in (ok_origin + "/", ok_origin + "/a?b=c#d", ok_origin, "https://WIKI.appliance.example:443/x"):
        r = admin_c.get("auth/redirect?rd=" + urllib.parse.quote(rd, safe=""))
        assert r.status == 200 and r.json["redirect"] == rd, (rd, r)


def test_host_rule_refuses_roles_not_listed(fa):
    """Also through client-sent headers: nginx passes the client's own headers on to the auth
    subrequest, so a client's X-Forwarded-Host (or X-Original-URL with Caddy) must not choose
    the host the rule is looked up for."""
    srv, ng = fa
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("hd.carol", role="helpdesk_admin", password=pw)
    c = srv.client()
    c.must_sign_in("hd.carol", pw)
    r = ng.get("/", cookies=session_of(c))
    assert r.status == 403, (r, ng.log())
    for headers in ({"X-Forwarded-Host": "unruled.example"},
                    {"X-Forwarded-Host": "unruled.example", "X-Forwarded-Proto": "http", "X-Forwarded-Uri": "/"},
                    {"X-Original-URL": "https://unruled.example/"}):
        r = ng.get("/", cookies=session_of(c), headers=headers)
        assert r.status == 403, (headers, r, ng.log())
    # straight from a trusted peer: X-Original-URL and X-Forwarded-Host naming different hosts
    for headers in ({"X-Original-URL": "%s/" % WIKI_ORIGIN, "X-Forwarded-Host": "unruled.example"},
                    {"X-Original-URL": "http://unruled.example/", "X-Forwarded-Proto": "http",
                     "X-Forwarded-Uri": "/", "X-Forwarded-Host": WIKI}):
        assert_error_json(c.get("auth/verify", headers=headers), 403, "forbidden")
    # the admin (global_admin is listed) enters, whatever X-Forwarded-Host the client sends
    for headers in (None, {"X-Forwarded-Host": "unruled.example"}):
        seen = remote_headers(ng.get("/", cookies=session_of(admin), headers=headers))
        assert seen["remote-user"] == ["admin"] and seen["remote-groups"] == ["global_admin"], seen


# Hosts a client may name hoping to land on a host without a rule (issue 18 item 4).
STRAY_HOSTS = ["127.0.0.1", "127.0.0.1:8443", "[::1]", "[::1]:443", "x." + WIKI, WIKI + ".evil.example",
               "localhost", "unruled.example", "wiki", "appliance.example"]


def test_a_host_without_a_rule_admits_nobody_once_rules_exist(make_fa):
    """Issue 18 item 4: an admin-only app; a plain user must not get in by naming another
    Host — neither at resetd (a host without a rule now refuses every role) nor through the
    guide's nginx block (a default server refuses any Host it does not name)."""
    srv, ng = make_fa(rules={WIKI: ["global_admin"]})
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("plain.pat", password=pw)
    c = srv.client()
    c.must_sign_in("plain.pat", pw)
    # at resetd, as a proxy that forwarded the client's Host would ask
    for host in STRAY_HOSTS + [WIKI]:
        for headers in ({"X-Original-URL": "https://%s/" % host},
                        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": host, "X-Forwarded-Uri": "/"}):
            assert_error_json(c.get("auth/verify", headers=headers), 403, "forbidden")
    # its own spellings of the ruled host still follow the rule
    for host in (WIKI, WIKI.upper(), WIKI + ".", WIKI + ":8443", WIKI + ".:443"):
        r = admin.get("auth/verify", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": host,
                                              "X-Forwarded-Uri": "/"})
        assert r.status == 200 and r.headers["remote-user"] == "admin", (host, r)
    # through nginx: the wiki refuses the user; no other Host reaches the app at all
    assert ng.get("/", cookies=session_of(c)).status == 403
    for host in STRAY_HOSTS + [WIKI.upper(), WIKI + "."]:
        for sni in (WIKI, None):
            r = ng.get("/", host=host, sni=sni, cookies=session_of(c))
            assert r is None or r.status in (400, 403, 421), (host, sni, r, ng.log())
    assert remote_headers(ng.get("/", cookies=session_of(admin)))["remote-user"] == ["admin"]


def test_star_rule_is_the_default_for_hosts_without_a_rule(make_resetd):
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml([WIKI_ORIGIN], rules={"admin.appliance.example": ["global_admin"], "*": ["user"]})
    srv.write_config()
    srv.start()
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("star.sam", password=pw)
    c = srv.client()
    c.must_sign_in("star.sam", pw)

    def verify(client, host):
        return client.get("auth/verify", headers={"X-Original-URL": "https://%s/" % host})
    assert verify(c, "wiki.appliance.example").status == 200
    assert verify(c, "127.0.0.1").status == 200
    assert_error_json(verify(c, "admin.appliance.example"), 403, "forbidden")
    assert verify(admin, "admin.appliance.example").status == 200
    assert_error_json(verify(admin, "wiki.appliance.example"), 403, "forbidden")  # "*" names user only
    j = admin.get("settings/integrations").json["forward_auth"]["rules"]
    assert {"host": "*", "roles": ["user"]} in j, j


def test_rule_with_a_port_is_refused_at_start(make_resetd):
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml([WIKI_ORIGIN], rules={WIKI + ":443": ["user"]})
    srv.write_config()
    srv.start(wait=False)
    assert srv.proc.wait(20) != 0
    err = srv.stderr()
    assert "forward_auth.rules" in err and "without a port" in err, err


def test_must_change_session_is_sent_to_the_change_page(fa):
    srv, ng = fa
    admin = srv.admin()
    pw = strong_password()
    uid = admin.create_user("mc.dave", password=pw).json["user"]["id"]
    tmp = strong_password()
    r = admin.reset(uid, mode="manual", password=tmp, require_change=True, notify=[], notify_user=False)
    assert r.status == 200, r
    c = srv.client()
    assert c.must_sign_in("mc.dave", tmp)["must_change_password"] is True
    r = ng.get("/", cookies=session_of(c))
    assert r.status == 302 and r.headers["location"] == srv.public_url + "/#/password", r
    # directly: 401 with both headers; ?redirect=1 (Caddy, Traefik) makes it a 302
    r = c.get("auth/verify")
    assert_error_json(r, 401, "password_change_required")
    assert r.headers["x-resetd-redirect"] == srv.public_url + "/#/password"
    r = c.get("auth/verify?redirect=1")
    assert r.status == 302 and r.headers["location"] == srv.public_url + "/#/password"


def test_verify_writes_nothing(fa):
    srv, ng = fa
    admin = srv.admin()
    db = os.path.join(srv.data_dir, "resetd.db")
    before = [os.stat(db + s).st_mtime_ns if os.path.exists(db + s) else None for s in ("", "-wal")]
    sizes = [os.path.getsize(db + s) if os.path.exists(db + s) else None for s in ("", "-wal")]
    for _ in range(20):
        assert ng.get("/", cookies=session_of(admin)).status == 200
        assert ng.get("/").status == 302
    after = [os.stat(db + s).st_mtime_ns if os.path.exists(db + s) else None for s in ("", "-wal")]
    assert before == after and sizes == [os.path.getsize(db + s) if os.path.exists(db + s) else None
                                         for s in ("", "-wal")], "verify wrote to the database"


def test_forward_auth_off_by_default(make_resetd):
    srv = make_resetd()
    admin = srv.admin()
    r = admin.get("auth/verify")
    assert_error_json(r, 404, "not_found")
    j = admin.get("settings/integrations").json
    assert j["forward_auth"]["enabled"] is False and j["pam"]["enabled"] is False, j
    # the cookie has no Domain when forward auth is off
    assert "domain=" not in (admin.last_set_cookie or "").lower()


def set_cookies(resp):
    return [v for k, v in resp.header_list if k.lower() == "set-cookie"]


def test_cookie_domain_cookie_passes_verify_and_nothing_else(make_resetd):
    """Issue 18 item 5: with cookie_domain, resetd's own session cookie stays host-only; the
    cookie every sibling host gets (and may replay) passes /auth/verify and no other route,
    and ends with the session."""
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml([WIKI_ORIGIN], cookie_domain="appliance.example")
    srv.write_config()
    srv.start()
    admin = srv.admin()
    c = srv.client()
    r = c.sign_in(ADMIN_USER, ADMIN_PW)
    assert r.status == 200, r
    csrf = r.json["csrf_token"]
    cookies = {v.split("=", 1)[0]: v for v in set_cookies(r)}
    assert set(cookies) == {"resetd_session", "resetd_forward"}, cookies
    assert "domain=" not in cookies["resetd_session"].lower(), cookies
    fwd = cookies["resetd_forward"]
    assert "Domain=appliance.example" in fwd and "HttpOnly" in fwd and "SameSite=Strict" in fwd, fwd
    token = c.cookies["resetd_forward"]
    assert token != c.cookies["resetd_session"]

    # a sibling app replays it: verify yes, anything else no — under either cookie name
    sibling = srv.client()
    for jar in ({"resetd_forward": token}, {"resetd_session": token}):
        sibling.cookies = dict(jar)
        sibling.csrf = csrf
        assert_error_json(sibling.get("session"), 401, "not_signed_in")
        assert_error_json(sibling.get("users"), 401, "not_signed_in")
        assert_error_json(sibling.get("settings/integrations"), 401, "not_signed_in")
        assert_error_json(sibling.post("users", {"username": "evil.admin", "display_name": "E",
                                                 "email": "e@example.org", "role": "global_admin",
                                                 "mode": "manual", "password": strong_password(),
                                                 "require_change": False, "notify": [],
                                                 "notify_user": False}), 401, "not_signed_in")
        assert_error_json(sibling.post("session/password", {"current_password": "x", "new_password": "y"}),
                          401, "not_signed_in")
        assert_error_json(sibling.delete("session"), 401, "not_signed_in")
    sibling.cookies = {"resetd_forward": token}
    r = sibling.get("auth/verify")
    assert r.status == 200 and r.headers["remote-user"] == "admin" and r.headers["remote-groups"] == "global_admin", r
    assert "evil.admin" not in json.dumps(admin.get("users?q=evil").json)
    # a made-up or altered forward token is nobody
    for bad in ("0" * 64, token[:-1] + ("0" if token[-1] != "0" else "1"), token.upper(), token + "0"):
        sibling.cookies = {"resetd_forward": bad}
        assert_error_json(sibling.get("auth/verify"), 401, "not_signed_in")

    # signing out ends both, and clears both cookies
    r = c.delete("session")
    assert r.status == 204, r
    cleared = set_cookies(r)
    assert len(cleared) == 2 and all("Max-Age=0" in v for v in cleared), cleared
    sibling.cookies = {"resetd_forward": token}
    assert_error_json(sibling.get("auth/verify"), 401, "not_signed_in")

    # an admin ending the session (here: a reset of that user) ends the forward cookie too
    pw = strong_password()
    uid = admin.create_user("dom.eve", password=pw).json["user"]["id"]
    e = srv.client()
    e.must_sign_in("dom.eve", pw)
    sibling.cookies = {"resetd_forward": e.cookies["resetd_forward"]}
    assert sibling.get("auth/verify").status == 200
    assert admin.reset(uid, notify=[], notify_user=False).status == 200
    assert_error_json(sibling.get("auth/verify"), 401, "not_signed_in")

    j = admin.get("settings/integrations").json
    assert j["forward_auth"] == {"enabled": True, "allowed_redirect_origins": [WIKI_ORIGIN],
                                 "cookie_domain": "appliance.example", "rules": [], "two_factor": []}, j


def test_what_a_sibling_host_is_sent_can_do_nothing_but_verify(make_resetd):
    """Issue 18 item 5, by what a browser does, whatever the cookies are called: every
    cookie resetd sets with `Domain=` (a sibling app under cookie_domain receives these, and
    may log or replay them) is replayed to resetd by the "sibling", with the CSRF token it
    could read from GET /session if that answered. It must not read the session, list users
    or create a global admin; /auth/verify still says who it is."""
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml([WIKI_ORIGIN], cookie_domain="appliance.example")
    srv.write_config()
    srv.start()
    admin = srv.admin()
    r = srv.client().sign_in(ADMIN_USER, ADMIN_PW)
    assert r.status == 200, r
    shared = {}
    for v in set_cookies(r):
        attrs = [a.strip().lower() for a in v.split(";")[1:]]
        if any(a.startswith("domain=") for a in attrs):
            name, value = v.split(";", 1)[0].split("=", 1)
            shared[name] = value
    assert shared, "with cookie_domain a sibling host must get a cookie to pass /auth/verify"
    sibling = srv.client()
    sibling.cookies = dict(shared)
    s = sibling.get("session")
    assert_error_json(s, 401, "not_signed_in")
    sibling.csrf = r.json["csrf_token"]  # even with the token the signed-in page holds
    assert_error_json(sibling.get("users"), 401, "not_signed_in")
    made = sibling.post("users", {"username": "sib.admin", "display_name": "S", "email": "s@example.org",
                                  "role": "global_admin", "mode": "manual", "password": strong_password(),
                                  "require_change": False, "notify": [], "notify_user": False})
    assert_error_json(made, 401, "not_signed_in")
    assert "sib.admin" not in {u["username"] for u in admin.all_users()["users"]}
    v = sibling.get("auth/verify", headers={"X-Original-URL": WIKI_ORIGIN + "/"})
    assert v.status == 200 and v.headers["remote-user"] == ADMIN_USER, v


def test_forward_cookie_through_the_readme_nginx(make_fa):
    """The sibling-host cookie alone gets a browser through nginx to the app."""
    srv, ng = make_fa(rules={WIKI: ["user"]}, cookie_domain="appliance.example")
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("fwd.fred", password=pw)
    c = srv.client()
    c.must_sign_in("fwd.fred", pw)
    seen = remote_headers(ng.get("/", cookies={"resetd_forward": c.cookies["resetd_forward"]}, headers=FORGED))
    assert seen["remote-user"] == ["fwd.fred"] and seen["remote-groups"] == ["user"], seen
    token = c.cookies["resetd_forward"]
    assert c.delete("session").status == 204
    r = ng.get("/", cookies={"resetd_forward": token})
    assert r.status == 302, r


def test_expired_password_session_is_sent_to_the_change_page(make_resetd, workdir):
    from sitekit import TestClock
    clock = TestClock(os.path.join(workdir, "clock-offset"))
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml([WIKI_ORIGIN])
    srv.write_config()
    srv.env = {"RESETD_TEST_CLOCK_OFFSET_FILE": clock.path}
    srv.start()
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("exp.erin", password=pw)
    r = admin.request("PUT", "settings/expiration", {"never_expires": False, "days": 14, "reminder_days": 7})
    assert r.status == 200, r
    c = srv.client()
    c.must_sign_in("exp.erin", pw)
    r = c.get("auth/verify")
    assert r.status == 200 and r.headers["remote-user"] == "exp.erin", r
    clock.advance(srv, 15 * 86400)
    c.must_sign_in("exp.erin", pw)  # an expired password signs in, into a must-change session
    r = c.get("auth/verify")
    assert_error_json(r, 401, "password_change_required")
    assert r.headers["location"] == srv.public_url + "/#/password", r.headers


CADDY_GLOBAL = """{{
  admin off
  auto_https off
  default_bind 127.0.0.1
  storage file_system {prefix}/data
}}
"""


class Caddy:
    """Debian's caddy running the guide's block (site address made plain HTTP on a test port)."""

    def __init__(self, base, resetd_port, app_port):
        self.prefix = os.path.join(base, "caddy")
        os.makedirs(self.prefix)
        self.proxy_port = free_port()
        placeholders = {
            WIKI + " {": "http://%s:%d {" % (WIKI, self.proxy_port),
            "https://127.0.0.1:8443": "https://127.0.0.1:%d" % resetd_port,
            "reverse_proxy 127.0.0.1:8080": "reverse_proxy 127.0.0.1:%d" % app_port,
        }
        self.conf = os.path.join(self.prefix, "Caddyfile")
        with open(self.conf, "w") as f:
            f.write(CADDY_GLOBAL.format(prefix=self.prefix)
                    + substitute(readme_snippet("caddy-forward-auth"), placeholders))
        self.proc = None
        self.logf = None

    def start(self):
        env = dict(os.environ, HOME=self.prefix, XDG_DATA_HOME=self.prefix, XDG_CONFIG_HOME=self.prefix)
        self.logf = open(os.path.join(self.prefix, "caddy.log"), "wb")
        self.proc = subprocess.Popen([CADDY, "run", "--config", self.conf, "--adapter", "caddyfile"], env=env,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(self.proxy_port) or self.proc.poll() is not None, timeout=15,
                   what="caddy listening")
        assert self.proc.poll() is None, self.log()
        return self

    def get(self, path="/", **kw):
        kw.setdefault("sni", None)
        return proxy_get(self.proxy_port, path, tls=False, **kw)

    def log(self):
        return open(os.path.join(self.prefix, "caddy.log")).read()[-4000:]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.logf:
            self.logf.close()


@pytest.fixture
def caddy_fa(make_resetd, workdir):
    srv = make_resetd(start=False, tls=True)
    # the test speaks plain HTTP to caddy (the guide's block: HTTPS), so that origin too
    srv.extra_toml = fa_toml([WIKI_ORIGIN, "http://" + WIKI], rules={WIKI: ["user", "global_admin"]})
    srv.write_config()
    srv.start()
    app = EchoApp()
    cd = Caddy(workdir, srv.port, app.port).start()
    yield srv, cd
    cd.stop()
    app.stop()


def test_caddy_forward_auth(caddy_fa):
    """The guide's Caddy block: redirect with rd, then through; a client's own Remote-*
    never reaches the app (item 6), for a user with a name and email and for the initial
    admin without; a Host the block does not name never reaches the app (item 4)."""
    srv, cd = caddy_fa
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("caddy.fay", display_name="Fay Caddy", email="fay@example.org", password=pw)
    r = cd.get("/tool?a=1")
    assert r.status == 302, (r, cd.log())
    loc = r.headers["location"]
    rd = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["rd"][0]
    assert rd == "http://%s/tool?a=1" % WIKI and loc.endswith("#/signin"), loc
    c = srv.client()
    r = c.post("session", {"username": "caddy.fay", "password": pw, "rd": rd}, csrf=False)
    assert r.status == 200, r
    seen = remote_headers(cd.get("/tool?a=1", cookies=session_of(c), headers=FORGED))
    assert seen == {"remote-user": ["caddy.fay"], "remote-name": ["Fay Caddy"],
                    "remote-email": ["fay@example.org"], "remote-groups": ["user"],
                    "remote-factors": ["password"]}, seen
    seen = remote_headers(cd.get("/", cookies=session_of(admin), headers=FORGED))
    assert seen.get("remote-user") == ["admin"] and seen.get("remote-groups") == ["global_admin"], seen
    assert seen.get("remote-name") == ["Administrator"], seen
    assert seen.get("remote-email", [""]) == [""], seen  # resetd's empty value, never the client's
    # signed out with forged headers: to the sign-in page
    r = cd.get("/", headers=FORGED)
    assert r.status == 302, r
    # a Host the site block does not name: never the app
    for host in STRAY_HOSTS:
        r = cd.get("/", host=host, cookies=session_of(c))
        assert r is None or r.status != 200 or r.body == b"", (host, r)


def test_readme_caddy_snippet_adapts_as_written(workdir):
    """Readers paste the block: Debian's caddy must accept it verbatim (HTTPS site, TLS to resetd)."""
    prefix = os.path.join(workdir, "caddy-readme")
    os.makedirs(prefix)
    conf = os.path.join(prefix, "Caddyfile")
    with open(conf, "w") as f:
        f.write("{\n  admin off\n  storage file_system %s/data\n}\n" % prefix + readme_snippet("caddy-forward-auth"))
    env = dict(os.environ, HOME=prefix, XDG_DATA_HOME=prefix, XDG_CONFIG_HOME=prefix)
    r = subprocess.run([CADDY, "adapt", "--config", conf, "--adapter", "caddyfile"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert '"tls":{"insecure_skip_verify":true}' in r.stdout.replace(" ", ""), r.stdout


def test_a_sibling_host_cannot_toss_its_session_cookie_in(make_resetd):
    """A sibling app under cookie_domain can set cookies for the parent domain (any Path):
    it must not be able to sign a browser in to resetd as someone else. Over TLS the session
    cookie is a __Host- cookie, which browsers let no other host set; a plain-named cookie
    is then nobody. Without TLS, two session cookies in one request (the tossed one is sent
    first when its Path is longer) are trusted neither."""
    srv = make_resetd(start=False, tls=True)
    srv.extra_toml = fa_toml([WIKI_ORIGIN], cookie_domain="appliance.example")
    srv.write_config()
    srv.start()
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("toss.mallory", password=pw)
    m = srv.client()
    r = m.sign_in("toss.mallory", pw)
    assert r.status == 200, r
    cookies = {v.split("=", 1)[0]: v for v in set_cookies(r)}
    assert set(cookies) == {"__Host-resetd_session", "resetd_forward"}, cookies
    host_only = cookies["__Host-resetd_session"]
    assert "Secure" in host_only and "Path=/;" in host_only and "domain=" not in host_only.lower(), host_only
    mallory = m.cookies["__Host-resetd_session"]
    tossed = srv.client()
    tossed.cookies = {"resetd_session": mallory}
    assert_error_json(tossed.get("session"), 401, "not_signed_in")
    # the admin's browser with mallory's tossed cookie beside its own: still the admin
    both = srv.client()
    both.cookies = {"resetd_session": mallory, "__Host-resetd_session": admin.cookies["__Host-resetd_session"]}
    s = both.get("session")
    assert s.status == 200 and s.json["user"]["username"] == ADMIN_USER, s

    plain = make_resetd(start=False)
    plain.extra_toml = fa_toml([WIKI_ORIGIN], cookie_domain="appliance.example")
    plain.write_config()
    plain.start()
    padmin = plain.admin()
    padmin.create_user("toss.mallory", password=pw)
    pm = plain.client()
    pm.must_sign_in("toss.mallory", pw)
    twice = plain.client()
    twice.cookies = {}
    hdr = "resetd_session=%s; resetd_session=%s" % (pm.cookies["resetd_session"], padmin.cookies["resetd_session"])
    assert_error_json(twice.get("session", headers={"Cookie": hdr}), 401, "not_signed_in")
    alone = plain.client()
    alone.cookies = {"resetd_session": padmin.cookies["resetd_session"]}
    assert alone.get("session").status == 200
