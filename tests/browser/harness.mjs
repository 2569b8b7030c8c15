// Test harness: runs the real resetd binary on a free loopback port with a
// fresh data dir, an optional smtp-sink relay, and Debian's chromium through
// playwright-core. Nothing here mocks the API.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const OUT = path.join(HERE, 'output');
// CTest sets RESETD_BIN; by hand, the README's build tree of this checkout.
export const BIN = process.env.RESETD_BIN || path.resolve(HERE, '..', '..', 'build', 'firmware-app', 'resetd');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ADMIN_INITIAL = 'Plum-Orbit-Canyon-7315';
export const ADMIN_PASSWORD = 'Quartz-Meadow-Falcon-4821';
export const LOCALES = ['en', 'zh-TW', 'tr-TR'];

export const tmpDir = (p) => fs.mkdtempSync(path.join(os.tmpdir(), p));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function run(args, input) {
  const r = spawnSync(BIN, args, { input: input ?? '', encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`resetd ${args.join(' ')} -> ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function waitHttp(url, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    try { const r = await fetch(url); if (r.ok) return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`no answer from ${url}`);
    await sleep(100);
  }
}

// smtp-sink writes each received message to its own file in dir.
export async function startSmtpSink() {
  const dir = tmpDir('resetd-sink-');
  const port = await freePort();
  const args = ['-4'];
  if (process.getuid && process.getuid() === 0) {
    fs.chownSync(dir, 65534, 65534);
    args.push('-u', 'nobody');
  }
  args.push('-d', `${dir}/%Y%m%d%H%M%S.`, `127.0.0.1:${port}`, '10');
  const bin = fs.existsSync('/usr/sbin/smtp-sink') ? '/usr/sbin/smtp-sink' : 'smtp-sink';
  const proc = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const end = Date.now() + 10000;
  for (;;) {
    const ok = await new Promise((res) => { const c = net.connect(port, '127.0.0.1', () => { c.destroy(); res(true); }); c.on('error', () => res(false)); });
    if (ok) break;
    if (Date.now() > end) throw new Error('smtp-sink did not start');
    await sleep(100);
  }
  return {
    port, dir,
    messages() {
      return fs.readdirSync(dir).filter((f) => !f.startsWith('.')).map((f) => decodeMail(fs.readFileSync(path.join(dir, f), 'latin1')));
    },
    stop() { proc.kill('SIGTERM'); },
  };
}

// Headers and decoded text body of one RFC 5322 message (single part,
// base64 / quoted-printable / 8bit).
export function decodeMail(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const start = text.search(/^(Received|Return-Path|From|Date|Message-ID|To|Subject|MIME-Version|Content-Type):/im);
  const msg = start > 0 ? text.slice(start) : text;
  const [head, ...rest] = msg.split('\n\n');
  let body = rest.join('\n\n');
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  if (cte === 'base64') body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  else if (cte === 'quoted-printable') {
    body = Buffer.from(body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/gi, (m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  } else body = Buffer.from(body, 'latin1').toString('utf8');
  return { headers, body, raw, subject: decodeWords(headers.subject || '') };
}

// RFC 2047 encoded words (B and Q, UTF-8) of a header value; the space between
// two adjacent encoded words is not part of the text.
export function decodeWords(v) {
  return v.replace(/(\?=)\s+(?==\?)/g, '$1').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (m, cs, enc, txt) => {
    const bytes = /b/i.test(enc)
      ? Buffer.from(txt, 'base64')
      : Buffer.from(txt.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (x, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    return bytes.toString(/^utf-?8$/i.test(cs) ? 'utf8' : 'latin1');
  });
}

// users: [{username, email, display_name, role}] added with the CLI before
// the server starts.
// testClock: the service reads RESETD_TEST_CLOCK_OFFSET_FILE, so
// setClock(seconds) moves both its clocks forward.
// tls: serve HTTPS with resetd's self-signed certificate (the test process then
// accepts it: NODE_TLS_REJECT_UNAUTHORIZED=0); browsers need it for WebAuthn.
export async function startResetd({ smtpPort, users = [], publicUrl = true, extraToml = '', testClock = false, adminEmail, tls = false } = {}) {
  const dataDir = tmpDir('resetd-data-');
  fs.rmSync(dataDir, { recursive: true });
  const port = await freePort();
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  if (tls) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  run(['init', '--data-dir', dataDir, '--admin', 'admin', '--password-stdin', ...(adminEmail ? ['--email', adminEmail] : [])], ADMIN_INITIAL);
  for (const u of users) {
    const args = ['user', 'add', '--data-dir', dataDir, '--username', u.username, '--email', u.email];
    if (u.display_name) args.push('--display-name', u.display_name);
    if (u.role) args.push('--role', u.role);
    if (u.locale) args.push('--locale', u.locale);
    run(args);
  }
  let toml = `[server]\npublic_url = "${publicUrl ? origin : ''}"\n${tls ? 'tls = "self-signed"\n' : ''}\n[hashing]\nopslimit = 1\nmemlimit_mib = 8\n`;
  if (smtpPort) toml += `\n[relay]\nkind = "smtp"\nhost = "127.0.0.1"\nport = ${smtpPort}\nsecurity = "none"\ntimeout_s = 10\n`;
  const config = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.toml`);
  fs.writeFileSync(config, toml + extraToml.replaceAll('{dataDir}', dataDir));
  const log = [];
  const args = ['serve', '--config', config, '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...(tls ? [] : ['--no-tls'])];
  // RESETD_WEB_DIR serves web/ from disk (development); by default the test
  // uses the UI embedded in the binary, as shipped.
  if (process.env.RESETD_WEB_DIR) args.push('--web-dir', process.env.RESETD_WEB_DIR);
  const env = { ...process.env };
  const clockFile = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.clock`);
  if (testClock) {
    // Only a test build (-DRESETD_TEST_HOOKS=ON) reads the variable: fail, never skip.
    if (!run(['version']).includes('(test hooks)')) throw new Error(`${BIN} is built without test hooks (-DRESETD_TEST_HOOKS=ON)`);
    fs.writeFileSync(clockFile, '0');
    env.RESETD_TEST_CLOCK_OFFSET_FILE = clockFile;
  }
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  proc.stdout.on('data', (d) => log.push(String(d)));
  proc.stderr.on('data', (d) => log.push(String(d)));
  let exited = null;
  proc.on('exit', (c) => { exited = c; });
  try {
    await waitHttp(`${origin}/api/v1/healthz`);
  } catch (e) {
    throw new Error(`${e.message} (exit ${exited}): ${log.join('')}`);
  }
  return {
    origin, dataDir, log,
    setClock(seconds) { fs.writeFileSync(clockFile, String(seconds)); },
    stop() { proc.kill('SIGTERM'); },
  };
}

// The Set-Cookie values of a fetch() response. Debian 12's Node.js 18 uses Debian's
// undici 5.15, whose Headers lack getSetCookie(): there get() joins them with ", ";
// split where a new "name=" follows (an Expires date has "Wed, 21 Oct", no "=").
export function setCookies(headers) {
  if (headers.getSetCookie) return headers.getSetCookie();
  const joined = headers.get('set-cookie');
  return joined ? joined.split(/,\s*(?=[!#$%&'*+.^_`|~0-9A-Za-z-]+=)/) : [];
}

// A tiny JSON client with a cookie jar and the CSRF token, for setup steps
// that the UI test does not cover.
export class ApiClient {
  constructor(origin, userAgent) { this.origin = origin; this.cookie = ''; this.csrf = ''; this.ua = userAgent; }
  async call(method, p, body) {
    const headers = { Accept: 'application/json' };
    if (this.ua) headers['User-Agent'] = this.ua;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.cookie) headers.Cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    const r = await fetch(`${this.origin}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const set = setCookies(r.headers);
    if (set.length) this.cookie = set.map((c) => c.split(';')[0]).join('; ');
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${p} -> ${r.status} ${text}`);
    if (data && data.csrf_token) this.csrf = data.csrf_token;
    return data;
  }
  async signIn(username, password) { return this.call('POST', '/session', { username, password }); }
}

// Signs the initial admin in and sets the admin's lasting password.
export async function adminApi(origin) {
  const c = new ApiClient(origin);
  const s = await c.signIn('admin', ADMIN_INITIAL);
  if (s.must_change_password) {
    await c.call('POST', '/session/password', { current_password: ADMIN_INITIAL, new_password: ADMIN_PASSWORD });
  }
  return c;
}

// extra: more context options, e.g. { timezoneId: 'Asia/Taipei' } for a
// browser in another zone than the appliance.
export async function launch(locale = 'en', viewport = { width: 1024, height: 600 }, extra = {}) {
  const ctx = await chromium.launchPersistentContext(tmpDir('resetd-chromium-'), {
    executablePath: CHROMIUM, headless: true, locale, viewport, ...extra,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(extra.args || [])],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = [];
  const requests = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const txt = m.text();
    if (/Content Security Policy|Refused to/i.test(txt)) problems.push(`csp: ${txt}`);
    else if (m.type() === 'error' && !/status of (401|404|422|409)/.test(txt)) problems.push(`console: ${txt}`);
  });
  ctx.on('request', (r) => requests.push(r.url()));
  return { ctx, page, problems, requests };
}

// The sign-in form as a person finds it: fields by their labels and the button by
// its name, in the page's current language (a label left in another language
// fails here).
export async function signInUi(page, username, password) {
  const t = readI18n();
  const anyUser = new RegExp(`^(${LOCALES.map((l) => escapeRe(t[l]['signin.username'])).join('|')})$`);
  const main = page.getByRole('main');
  await main.getByRole('textbox', { name: anyUser }).waitFor();
  const l = await page.evaluate(() => document.documentElement.lang);
  const s = t[l] || t.en;
  await main.getByRole('textbox', { name: s['signin.username'], exact: true }).fill(username);
  await main.getByLabel(s['signin.password'], { exact: true }).fill(password);
  await main.getByRole('button', { name: s['signin.submit'], exact: true }).click();
}

// A browser that has signed in as the admin (password already changed); the caller
// waits for the page it expects.
export async function launchSignedInAdmin(origin, locale = 'en', viewport = { width: 1024, height: 600 }, extra = {}) {
  const b = await launch(locale, viewport, extra);
  await b.page.goto(`${origin}/#/signin`);
  await signInUi(b.page, 'admin', ADMIN_PASSWORD);
  return b;
}

let i18nCache;
export function readI18n() {
  if (i18nCache) return i18nCache;
  const dir = path.join(HERE, '..', '..', 'web', 'i18n');
  i18nCache = Object.fromEntries(LOCALES.map((l) => [l, JSON.parse(fs.readFileSync(path.join(dir, `${l}.json`), 'utf8'))]));
  return i18nCache;
}

// axe-core on the page as it is: every violation, named by `name`, fails the test.
let axeSource;
export async function checkAxe(page, name) {
  axeSource ??= fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const { deepStrictEqual } = await import('node:assert/strict');
  deepStrictEqual(res.violations.map((v) => `${name}: ${v.id} ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`), []);
}

// A screenshot to look at: output/<locale>/<name>.png.
export async function shot(page, locale, name, { fullPage = false } = {}) {
  const dir = path.join(OUT, locale);
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage });
}

export const escapeRe = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The page's language picker: the banner's combobox named "Language" in
// whichever of the three languages the page shows.
export function languagePicker(page) {
  const t = readI18n();
  const names = LOCALES.map((l) => escapeRe(t[l]['app.language']));
  return page.getByRole('banner').getByRole('combobox', { name: new RegExp(`^(${names.join('|')})$`) });
}

// Picks language l by its option's name, then waits for the page to redraw in
// it: the picker is then named in l.
export async function setLanguage(page, l) {
  const t = readI18n();
  await languagePicker(page).selectOption({ label: t[l][`lang.${l}`] });
  await page.waitForFunction((x) => document.documentElement.lang === x, l);
  await page.getByRole('banner').getByRole('combobox', { name: t[l]['app.language'], exact: true }).waitFor();
  await sleep(300);
}
