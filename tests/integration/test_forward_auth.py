"""Issue 11 / spec §12: forward auth for the appliance's other web apps, tested through a
real nginx (Debian package) with auth_request in front of a tiny upstream (a second nginx
server block that echoes the Remote-* headers it received), and through Debian's caddy
with the README's forward_auth snippet.

nginx runs as root's child on free 127.0.0.1 ports with its own prefix, pid file and logs
in the test's temp dir; every wait is bounded."""
import os
import shutil
import subprocess
import types
import urllib.parse

import pytest

from conftest import Client, assert_error_json, free_port, port_open, strong_password, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """
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

  # the upstream app: echoes who the proxy said the user is
  server {{
    listen 127.0.0.1:{app_port};
    location / {{
      default_type text/plain;
      return 200 "app user=[$http_remote_user] name=[$http_remote_name] email=[$http_remote_email] groups=[$http_remote_groups]\\n";
    }}
  }}

  # the reverse proxy with forward auth, as in the README
  server {{
    listen 127.0.0.1:{proxy_port};
    location / {{
      auth_request /_resetd_verify;
      auth_request_set $resetd_user $upstream_http_remote_user;
      auth_request_set $resetd_name $upstream_http_remote_name;
      auth_request_set $resetd_email $upstream_http_remote_email;
      auth_request_set $resetd_groups $upstream_http_remote_groups;
      auth_request_set $resetd_redirect $upstream_http_location;
      error_page 401 =302 $resetd_redirect;
      proxy_set_header Remote-User $resetd_user;
      proxy_set_header Remote-Name $resetd_name;
      proxy_set_header Remote-Email $resetd_email;
      proxy_set_header Remote-Groups $resetd_groups;
      proxy_pass http://127.0.0.1:{app_port};
    }}
    location = /_resetd_verify {{
      internal;
      proxy_pass http://127.0.0.1:{resetd_port}/api/v1/auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    }}
  }}
}}
"""


class Nginx:
    def __init__(self, base, resetd_port, proxy_port=None):
        self.prefix = os.path.join(base, "nginx")
        os.makedirs(self.prefix)
        os.chmod(base, 0o755)
        self.proxy_port, self.app_port = proxy_port or free_port(), free_port()
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(prefix=self.prefix, app_port=self.app_port,
                                      proxy_port=self.proxy_port, resetd_port=resetd_port))
        self.proc = None

    def start(self):
        r = subprocess.run([NGINX, "-t", "-p", self.prefix, "-c", self.conf], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, "nginx -t: %s" % r.stderr
        self.proc = subprocess.Popen([NGINX, "-p", self.prefix, "-c", self.conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: (port_open(self.proxy_port) and port_open(self.app_port))
                   or self.proc.poll() is not None, timeout=10, what="nginx listening")
        assert self.proc.poll() is None, "nginx exited: %s" % self.log()
        return self

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


def via_proxy(nginx, path="/", cookie=None, host=None, headers=None):
    """GET through nginx (no redirects followed). Returns the Response."""
    c = Client(nginx.proxy_port)
    if cookie:
        c.cookies = {"resetd_session": cookie}
    h = dict(headers or {})
    if host:
        h["Host"] = host
    return c.get(path, headers=h or None)


@pytest.fixture
def fa(make_resetd, workdir):
    """resetd with forward auth on (nginx's origin allowed) and nginx in front of an app."""
    proxy_port = free_port()
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml(["http://127.0.0.1:%d" % proxy_port], rules={"127.0.0.1:%d" % proxy_port: ["user", "global_admin"]})
    srv.write_config()
    srv.start()
    ng = Nginx(workdir, srv.port, proxy_port).start()
    yield srv, ng
    ng.stop()


def test_signed_out_redirects_to_sign_in_with_rd_then_upstream_sees_the_user(fa):
    srv, ng = fa
    admin = srv.admin()
    pw = strong_password()
    uid = admin.create_user("kiosk.ann", display_name="Ann Kiosk", email="ann@example.org",
                            password=pw).json["user"]["id"]

    # signed out: nginx answers 302 to resetd's sign-in page with rd = the page asked for
    r = via_proxy(ng, "/wiki/page?x=1&y=2")
    assert r.status == 302, (r, ng.log())
    loc = r.headers["location"]
    want_rd = "http://127.0.0.1:%d/wiki/page?x=1&y=2" % ng.proxy_port
    assert loc.startswith(srv.public_url + "/?rd="), loc
    assert loc.endswith("#/signin"), loc
    rd = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["rd"][0]
    assert rd == want_rd, (rd, want_rd)

    # sign in with that rd: resetd hands it back (it is a configured origin)
    c = srv.client()
    r = c.post("session", {"username": "kiosk.ann", "password": pw, "rd": rd}, csrf=False)
    assert r.status == 200, r
    assert r.json["redirect"] == want_rd
    token = c.cookies["resetd_session"]

    # the browser follows it: nginx lets it through, the app sees who it is
    r = via_proxy(ng, "/wiki/page?x=1&y=2", cookie=token)
    assert r.status == 200, (r, ng.log())
    assert b"user=[kiosk.ann]" in r.body and b"groups=[user]" in r.body, r.body
    assert b"name=[Ann Kiosk]" in r.body and b"email=[ann@example.org]" in r.body, r.body

    # a client cannot forge the header past the proxy
    c2 = Client(ng.proxy_port)
    r = c2.get("/", headers={"Remote-User": "admin"})
    assert r.status == 302, r

    # the admin resets that user's password: the session is gone, the proxy refuses
    r = admin.reset(uid, notify=[], notify_user=False)
    assert r.status == 200, r
    r = via_proxy(ng, "/wiki/page", cookie=token)
    assert r.status == 302 and "#/signin" in r.headers["location"], r
    assert c.get("session").status == 401


def test_foreign_rd_is_refused(fa):
    srv, ng = fa
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("rd.bob", password=pw)
    ok_origin = "http://127.0.0.1:%d" % ng.proxy_port
    foreign = [
        "https://evil.example/", "//evil.example/x", "///evil.example", "http:/evil.example",
        ok_origin + "@evil.example/", "http://127.0.0.1:%d.evil.example/" % ng.proxy_port,
        "http://evil.example\\@127.0.0.1:%d/" % ng.proxy_port, "http:\\\\evil.example",
        "/\\evil.example", "javascript:alert(1)", "data:text/html,x",
        "http%3A%2F%2Fevil.example", "%2F%2Fevil.example", "http://evil%2eexample/",
        "http://127.0.0.1%%3A%d@evil.example/" % ng.proxy_port, "https://127.0.0.1:%d/" % ng.proxy_port,
        ok_origin + "\r\nSet-Cookie: x=1", " " + ok_origin + "/", "HTTP://EVIL.EXAMPLE/",
        "http://user:pass@127.0.0.1:%d/" % ng.proxy_port, "", "relative/path", "/local/path",
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
    for rd in (ok_origin + "/", ok_origin + "/a?b=c#d", ok_origin):
        r = admin_c.get("auth/redirect?rd=" + urllib.parse.quote(rd, safe=""))
        assert r.status == 200 and r.json["redirect"] == rd, (rd, r)


def test_host_rule_refuses_roles_not_listed(fa):
    """Also through client-sent headers: nginx passes the client's own headers on to the auth
    subrequest, so a client's X-Forwarded-Host (or X-Original-URL with Caddy) must not choose
    the host the rule is looked up for; and nginx serves "host." as "host"."""
    srv, ng = fa
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("hd.carol", role="helpdesk_admin", password=pw)
    c = srv.client()
    c.must_sign_in("hd.carol", pw)
    r = via_proxy(ng, "/", cookie=c.cookies["resetd_session"])
    assert r.status == 403, (r, ng.log())
    proxy_host = "127.0.0.1:%d" % ng.proxy_port
    for headers in ({"X-Forwarded-Host": "unruled.example"},
                    {"X-Forwarded-Host": "unruled.example", "X-Forwarded-Proto": "http", "X-Forwarded-Uri": "/"},
                    {"Host": "127.0.0.1.:%d" % ng.proxy_port},
                    {"Host": "127.0.0.1.:%d" % ng.proxy_port, "X-Forwarded-Host": "127.0.0.1.:%d" % ng.proxy_port}):
        r = via_proxy(ng, "/", cookie=c.cookies["resetd_session"], headers=headers)
        assert r.status == 403, (headers, r, ng.log())
    # straight from a trusted peer: X-Original-URL and X-Forwarded-Host naming different hosts
    for headers in ({"X-Original-URL": "http://%s/" % proxy_host, "X-Forwarded-Host": "unruled.example"},
                    {"X-Original-URL": "http://unruled.example/", "X-Forwarded-Proto": "http",
                     "X-Forwarded-Uri": "/", "X-Forwarded-Host": proxy_host}):
        assert_error_json(c.get("auth/verify", headers=headers), 403, "forbidden")
    # the admin (global_admin is listed) enters, also with a consistent X-Forwarded-Host
    for headers in (None, {"X-Forwarded-Host": proxy_host}):
        r = via_proxy(ng, "/", cookie=admin.cookies["resetd_session"], headers=headers)
        assert r.status == 200 and b"user=[admin]" in r.body and b"groups=[global_admin]" in r.body, r.body


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
    r = via_proxy(ng, "/", cookie=c.cookies["resetd_session"])
    assert r.status == 302 and r.headers["location"] == srv.public_url + "/#/password", r
    # directly: 401 with both headers; ?redirect=1 (Caddy, Traefik) makes it a 302
    r = c.get("auth/verify")
    assert_error_json(r, 401, "password_change_required")
    assert r.headers["x-resetd-redirect"] == srv.public_url + "/#/password"
    r = c.get("auth/verify?redirect=1")
    assert r.status == 302 and r.headers["location"] == srv.public_url + "/#/password"


def test_verify_writes_nothing_and_ignores_forwarded_headers_from_untrusted_peers(fa, workdir):
    srv, ng = fa
    admin = srv.admin()
    db = os.path.join(srv.data_dir, "resetd.db")
    before = [os.stat(db + s).st_mtime_ns if os.path.exists(db + s) else None for s in ("", "-wal")]
    sizes = [os.path.getsize(db + s) if os.path.exists(db + s) else None for s in ("", "-wal")]
    for _ in range(20):
        assert via_proxy(ng, "/", cookie=admin.cookies["resetd_session"]).status == 200
        assert via_proxy(ng, "/").status == 302
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


def test_cookie_domain_scopes_the_session_cookie(make_resetd):
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml(["https://wiki.appliance.example"], cookie_domain="appliance.example")
    srv.write_config()
    srv.start()
    c = srv.client()
    r = c.sign_in("admin", "Adm1n-Passw0rd-Tr0ub4dor!")
    assert r.status == 200, r
    sc = c.last_set_cookie
    assert "Domain=appliance.example" in sc and "HttpOnly" in sc and "SameSite=Strict" in sc, sc
    j = srv.admin().get("settings/integrations").json
    assert j["forward_auth"] == {"enabled": True, "allowed_redirect_origins": ["https://wiki.appliance.example"],
                                 "cookie_domain": "appliance.example", "rules": []}, j


def test_expired_password_session_is_sent_to_the_change_page(make_resetd, workdir):
    from sitekit import TestClock
    clock = TestClock(os.path.join(workdir, "clock-offset"))
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml(["https://wiki.appliance.example"])
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


CADDY = shutil.which("caddy") or "/usr/bin/caddy"

CADDYFILE = """{{
  admin off
  auto_https off
  storage file_system {prefix}/data
}}
http://127.0.0.1:{proxy_port} {{
  forward_auth 127.0.0.1:{resetd_port} {{
    uri /api/v1/auth/verify?redirect=1
    copy_headers Remote-User Remote-Name Remote-Email Remote-Groups
  }}
  respond "app user=[{{http.request.header.Remote-User}}] groups=[{{http.request.header.Remote-Groups}}]"
}}
"""


def test_caddy_forward_auth(make_resetd, workdir):
    """The README's Caddy snippet against Debian's caddy: redirect with rd, then through."""
    proxy_port = free_port()
    srv = make_resetd(start=False)
    srv.extra_toml = fa_toml(["http://127.0.0.1:%d" % proxy_port])
    srv.write_config()
    srv.start()
    prefix = os.path.join(workdir, "caddy")
    os.makedirs(prefix)
    conf = os.path.join(prefix, "Caddyfile")
    with open(conf, "w") as f:
        f.write(CADDYFILE.format(prefix=prefix, proxy_port=proxy_port, resetd_port=srv.port))
    env = dict(os.environ, HOME=prefix, XDG_DATA_HOME=prefix, XDG_CONFIG_HOME=prefix)
    log = open(os.path.join(prefix, "caddy.log"), "wb")
    proc = subprocess.Popen([CADDY, "run", "--config", conf, "--adapter", "caddyfile"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_open(proxy_port) or proc.poll() is not None, timeout=15, what="caddy listening")
        assert proc.poll() is None, open(os.path.join(prefix, "caddy.log")).read()
        admin = srv.admin()
        pw = strong_password()
        admin.create_user("caddy.fay", password=pw)
        r = via_proxy(types.SimpleNamespace(proxy_port=proxy_port), "/tool?a=1")
        assert r.status == 302, r
        loc = r.headers["location"]
        rd = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["rd"][0]
        assert rd == "http://127.0.0.1:%d/tool?a=1" % proxy_port and loc.endswith("#/signin"), loc
        c = srv.client()
        r = c.post("session", {"username": "caddy.fay", "password": pw, "rd": rd}, csrf=False)
        assert r.status == 200 and r.json["redirect"] == rd, r
        r = via_proxy(types.SimpleNamespace(proxy_port=proxy_port), "/tool?a=1", cookie=c.cookies["resetd_session"])
        assert r.status == 200 and b"user=[caddy.fay] groups=[user]" in r.body, r.body
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def readme_block(lang):
    """The README's fenced ```lang block (the one under "Sign-in for the appliance's other services")."""
    from conftest import REPO
    text = open(os.path.join(REPO, "README.md")).read()
    start = text.index("```%s\n" % lang) + len("```%s\n" % lang)
    return text[start:text.index("```", start)]


def test_readme_caddy_snippet_parses_as_written(workdir):
    """Readers paste the snippet: Debian's caddy must accept it verbatim."""
    prefix = os.path.join(workdir, "caddy-readme")
    os.makedirs(prefix)
    conf = os.path.join(prefix, "Caddyfile")
    with open(conf, "w") as f:
        f.write("{\n  admin off\n  storage file_system %s/data\n}\n" % prefix + readme_block("caddy"))
    env = dict(os.environ, HOME=prefix, XDG_DATA_HOME=prefix, XDG_CONFIG_HOME=prefix)
    r = subprocess.run([CADDY, "adapt", "--config", conf, "--adapter", "caddyfile"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert '"tls":{"insecure_skip_verify":true}' in r.stdout.replace(" ", ""), r.stdout


def test_readme_nginx_snippet_passes_nginx_t(workdir):
    """The README's nginx locations, pasted into a server block, pass Debian's `nginx -t`."""
    prefix = os.path.join(workdir, "nginx-readme")
    os.makedirs(prefix)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write("pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n  access_log off;\n"
                "  server {\n    listen 127.0.0.1:%d;\n%s  }\n}\n" % (prefix, prefix, free_port(), readme_block("nginx")))
    r = subprocess.run([NGINX, "-t", "-p", prefix, "-c", conf], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
