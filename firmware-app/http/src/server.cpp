// ApiServer: the handlers behind the adapter (httplib_adapter.h), the pre-body guards, routing,
// CSRF/Origin checks, security headers and the embedded UI.
#include <zlib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "api.h"
#include "edge.h"
#include "guards.h"
#include "resetd/web/assets.h"

namespace resetd::http {
namespace {

const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// "scheme://host[:port]" of a URL as a browser sends it in Origin: lower-case
// scheme and host, default port left out, no path. Empty for no URL.
std::string origin_of(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return {};
  std::string scheme = url.substr(0, sep);
  std::string auth = url.substr(sep + 3);
  auth = auth.substr(0, auth.find_first_of("/?#"));
  if (size_t at = auth.rfind('@'); at != std::string::npos) auth = auth.substr(at + 1);
  for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (auto& ch : auth) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string def = scheme == "https" ? ":443" : scheme == "http" ? ":80" : "";
  if (!def.empty() && auth.ends_with(def))
    auth.resize(auth.size() - def.size());
  return scheme + "://" + auth;
}

bool changes_state(const std::string& m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

std::string gunzip(std::string_view gz) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return {};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[16384];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&zs);
  return out;
}

}  // namespace

std::string url_origin(const std::string& url) { return origin_of(url); }

struct ApiServer::Impl {
  Impl(accounts::AccountService& a, storage::Store& st, const Clock& c, ServerOptions o,
       ServerHooks h)
      : opts(std::move(o)), hooks(std::move(h)), svc{a, st, c, opts, hooks, opts.tls, accounts::ForwardAuthPolicy(opts.forward_auth)} {}

  ServerOptions opts;
  ServerHooks hooks;
  Services svc;
  std::unique_ptr<HttplibAdapter> adapter;
  std::unique_ptr<Edge> server;
  std::string public_origin = origin_of(opts.public_url);
  std::vector<Route> routes;
  std::thread thread;
  int port = 0;

  std::string client_of(const httplib::Request& req) const {
    std::string peer = req.remote_addr;  // the socket's peer, never a header
    for (const auto& tp : opts.trusted_proxies) {
      if (tp == peer) {
        // last hop of X-Forwarded-For, the one our trusted proxy appended
        std::string xff;
        for (size_t i = 0; i < req.get_header_value_count("X-Forwarded-For"); ++i)
          xff = req.get_header_value("X-Forwarded-For", i);
        auto comma = xff.rfind(',');
        std::string last = comma == std::string::npos ? xff : xff.substr(comma + 1);
        size_t b = last.find_first_not_of(' '), e = last.find_last_not_of(' ');
        if (b != std::string::npos) return last.substr(b, e - b + 1).substr(0, 64);
      }
    }
    return peer;
  }

  void security_headers(const httplib::Request& req, httplib::Response& res) const {
    res.set_header("Content-Security-Policy", kCsp);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Cross-Origin-Opener-Policy", "same-origin");
    if (opts.tls) res.set_header("Strict-Transport-Security", "max-age=31536000");
    if (req.path.rfind("/api/", 0) == 0) res.set_header("Cache-Control", "no-store");
  }

  // Runs before httplib reads the body: refuse what we can without reading it.
  // True when it answered.
  bool pre_routing(const httplib::Request& req, httplib::Response& res) {
    security_headers(req, res);
    if (auto r = refuse_before_body(req)) {
      res.set_header("Connection", "close");
      send_error(res, r->status, make_error(r->code, r->message));
      return true;
    }
    return false;
  }

  void dispatch(const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api/v1/", 0) != 0) {
      if (req.path.rfind("/api/", 0) == 0)
        return send_error(res, 404, make_error("not_found", "No such endpoint."));
      return serve_static(req, res);
    }
    const std::string path = req.path.substr(7);  // keep leading '/'
    bool path_known = false;
    std::string allow;
    std::vector<std::string> m;
    for (const Route& r : routes) {
      if (!r.pattern.match(path, m)) continue;
      path_known = true;
      allow += (allow.empty() ? "" : ", ") + r.method;
      // HEAD is GET without the body (the adapter drops it).
      const std::string& method = req.method == "HEAD" ? std::string("GET") : req.method;
      if (r.method != method) continue;
      Ctx c{req, res, std::move(m), std::nullopt, {}, client_of(req), json::object()};
      try {
        run(r, c);
      } catch (const ApiError& e) {
        send_error(res, e.status, e.error);
      }
      return;
    }
    if (path_known) {
      res.set_header("Allow", allow);
      return send_error(res, 405, make_error("method_not_allowed", "Method not allowed here."));
    }
    send_error(res, 404, make_error("not_found", "No such endpoint."));
  }

  void run(const Route& r, Ctx& c) {
    const httplib::Request& req = c.req;
    c.token = cookie_value(req, session_cookie_name(svc));
    const bool background = req.get_header_value("X-Background") == "1";
    if (!c.token.empty()) c.actor = svc.accounts.authenticate(c.token, c.client, !background);
    if (r.auth != Auth::None) {
      if (!c.actor) fail(401, "not_signed_in", "Sign in first.");
      if ((r.auth == Auth::Session || r.auth == Auth::Enrolment) && c.actor->must_change)
        fail(403, "password_change_required", "Change your password first.");
      // The site's policy wants a second factor this account lacks: nothing
      // but setting one up (and GET /session, sign-out) until it has one.
      if (r.auth == Auth::Session && c.actor->second_factor_missing)
        fail(403, "second_factor_required",
             "Set up an authenticator app first (POST /api/v1/session/second-factor/totp): the site requires "
             "one for your role.");
    }
    const bool state_change = changes_state(req.method);
    if (state_change && r.auth != Auth::None) {
      const std::string sent = req.get_header_value("X-CSRF-Token");
      if (!crypto::equal_ct(sent, svc.accounts.csrf_token_for(c.token)))
        fail(403, "csrf_failed", "Missing or wrong X-CSRF-Token header.");
    }
    if (state_change && r.auth == Auth::None) {
      // unauthenticated POSTs: JSON only, and same-origin when Origin is sent
      if (!is_json(req)) fail(415, "unsupported_media_type", "Send Content-Type: application/json.");
      if (req.has_header("Origin")) {
        // public_url names the one origin staff use; without it, the Host
        // the request came to is all we know.
        const std::string want = !public_origin.empty()
                                     ? public_origin
                                     : std::string(opts.tls ? "https://" : "http://") + req.get_header_value("Host");
        if (req.get_header_value("Origin") != want)
          fail(403, "origin_mismatch", "Cross-origin requests are not accepted.");
      }
    }
    if (!req.body.empty()) {
      if (!is_json(req)) fail(415, "unsupported_media_type", "Send Content-Type: application/json.");
      c.body = body_object(req.body);
    } else if (state_change && req.method != "DELETE" && r.auth == Auth::None) {
      fail(400, "malformed_json", "A JSON body is required.");
    }
    r.handler(c);
  }

  void serve_static(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD")
      return send_error(res, 405, make_error("method_not_allowed", "Method not allowed here."));
    std::string path = req.path == "/" ? "/index.html" : req.path;
    if (!opts.web_dir.empty()) {
      if (path.find("..") != std::string::npos)
        return send_error(res, 404, make_error("not_found", "No such page."));
      std::ifstream in(opts.web_dir + path, std::ios::binary);
      if (!in) return send_error(res, 404, make_error("not_found", "No such page."));
      std::stringstream ss;
      ss << in.rdbuf();
      res.set_header("Cache-Control", "no-cache");
      std::string ct = "application/octet-stream";
      auto ends = [&](const char* e) { return path.ends_with(e); };
      if (ends(".html")) ct = "text/html; charset=utf-8";
      else if (ends(".js")) ct = "text/javascript; charset=utf-8";
      else if (ends(".css")) ct = "text/css; charset=utf-8";
      else if (ends(".json")) ct = "application/json; charset=utf-8";
      else if (ends(".svg")) ct = "image/svg+xml";
      res.set_content(ss.str(), ct.c_str());
      return;
    }
    const web::Asset* a = web::find_asset(path);
    if (!a) return send_error(res, 404, make_error("not_found", "No such page."));
    res.set_header("ETag", std::string(a->etag));
    res.set_header("Cache-Control", "no-cache");
    res.set_header("Vary", "Accept-Encoding");
    if (req.get_header_value("If-None-Match") == a->etag) {
      res.status = 304;
      return;
    }
    const bool gz = req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos;
    const std::string ct(a->content_type);
    if (gz) {
      // Content-Encoding set here keeps the adapter from compressing the bytes again.
      res.set_header("Content-Encoding", "gzip");
      res.set_content(std::string(a->gzip), ct.c_str());
    } else {
      res.set_content(gunzip(a->gzip), ct.c_str());
    }
  }
};

ApiServer::ApiServer(accounts::AccountService& accounts, storage::Store& store, const Clock& clock,
                     ServerOptions opts, ServerHooks hooks)
    : impl_(std::make_unique<Impl>(accounts, store, clock, std::move(opts), std::move(hooks))) {}

ApiServer::~ApiServer() { stop(); }

int ApiServer::bound_port() const { return impl_->port; }

bool ApiServer::start(std::string* error) {
  Impl& im = *impl_;
  SSL_CTX* tls = nullptr;
  if (im.opts.tls && !(tls = make_tls_context(im.opts.cert_file, im.opts.key_file, error))) return false;
  EdgeLimits lim;
  lim.workers = static_cast<size_t>(std::max(2, im.opts.threads));
  lim.frame.max_body = kMaxBody;
  lim.hold = im.opts.keep_alive_hold;
  HttpHandlers h;
  h.pre_routing = [&im](const httplib::Request& req, httplib::Response& res) { return im.pre_routing(req, res); };
  h.handler = [&im](const httplib::Request& req, httplib::Response& res) { im.dispatch(req, res); };
  h.on_exception = [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const storage::StorageError& e) {
      using K = storage::StorageError::Kind;
      std::cerr << "http: storage: " << e.what() << "\n";
      if (e.kind() == K::Full)
        send_error(res, 507, make_error("storage_full", "The appliance's storage is full; nothing was changed."));
      else if (e.kind() == K::Busy)
        send_error(res, 503, Error{"busy", "The appliance is busy; try again in a few seconds.", "", 2});
      else
        send_error(res, 500, make_error("internal_error", "Something went wrong; nothing was changed."));
    } catch (const std::exception& e) {
      std::cerr << "http: exception: " << e.what() << "\n";
      send_error(res, 500, make_error("internal_error", "Something went wrong; nothing was changed."));
    } catch (...) {
      send_error(res, 500, make_error("internal_error", "Something went wrong; nothing was changed."));
    }
  };
  // Errors the adapter produces on its own (400 parse, 414 ...) get the error JSON too.
  h.on_error = [&im](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    im.security_headers(req, res);
    const int st = res.status;
    const char* code = st == 413 ? "payload_too_large" : st == 404 ? "not_found"
                     : st == 405 ? "method_not_allowed" : st == 411 ? "length_required"
                     : st == 415 ? "unsupported_media_type" : st >= 500 ? "internal_error" : "bad_request";
    send_error(res, st, make_error(code, "The request could not be handled."));
  };
  im.adapter = std::make_unique<HttplibAdapter>(
      std::move(h), static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(lim.keep_alive_idle).count()),
      lim.max_requests_per_connection);
  im.server = std::make_unique<Edge>(lim, tls, im.opts.trusted_proxies,
                                     [&im](const Inbound& in) { return im.adapter->answer(in); });
  Edge& srv = *im.server;
  if (im.hooks.heartbeat) srv.set_heartbeat(im.hooks.heartbeat);
  add_session_routes(im.routes, im.svc);
  add_second_factor_routes(im.routes, im.svc);
  add_caller_routes(im.routes, im.svc);
  add_user_routes(im.routes, im.svc);
  add_user_csv_routes(im.routes, im.svc);
  add_misc_routes(im.routes, im.svc);
  add_site_routes(im.routes, im.svc);
  add_forward_auth_routes(im.routes, im.svc);
  add_directory_routes(im.routes, im.svc);

  im.port = srv.bind(im.opts.host, im.opts.port);
  if (im.port <= 0) {
    *error = "cannot listen on " + im.opts.host + ":" + std::to_string(im.opts.port);
    return false;
  }
  im.thread = std::thread([&srv] { srv.serve(); });
  return true;
}

void ApiServer::stop() {
  if (impl_ && impl_->server) {
    impl_->server->stop();
    if (impl_->thread.joinable()) impl_->thread.join();
  }
}

}  // namespace resetd::http
