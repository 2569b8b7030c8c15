// resetd web UI: shell, session and hash router (every page is served at "/").
import { h } from './js/dom.js';
import { t, setLocale, pickLocale, locale, setZone } from './js/i18n.js';
import { api, setCsrf, onUnauthorized } from './js/api.js';
import { signIn, forgot, setPassword, changePassword, returnTo, leaveFor } from './js/auth.js';
import { users, userForm } from './js/users.js';
import { reset } from './js/reset.js';
import { importUsers } from './js/import.js';
import { notifications, settings, sessions } from './js/admin.js';
import { audit } from './js/audit.js';
import { secondFactor } from './js/second_factor.js';
import { enrolFirst } from './js/second_factor_site.js';

const ADMIN = ['global_admin', 'user_admin', 'helpdesk_admin', 'password_admin'];
const app = { session: null, health: null, flash: null };

const ROUTES = [
  [/^\/signin$/, signIn, 'public'],
  [/^\/forgot$/, forgot, 'public'],
  [/^\/set-password$/, setPassword, 'public'],
  [/^\/password$/, changePassword, 'any'],
  [/^\/sessions$/, sessions, 'any'],
  [/^\/second-factor$/, secondFactor, 'any'],
  [/^\/users$/, users, 'admin'],
  [/^\/users\/new$/, userForm, 'admin'],
  [/^\/users\/import$/, importUsers, 'admin'],
  [/^\/users\/(\d+)$/, userForm, 'admin'],
  [/^\/reset\/(\d+)$/, reset, 'admin'],
  [/^\/reset$/, reset, 'admin'],
  [/^\/notifications$/, notifications, 'admin'],
  [/^\/settings$/, settings, 'global_admin'],
  [/^\/audit$/, audit, 'global_admin'],
];

const isAdmin = () => ADMIN.includes(app.session?.user?.role);
// A session the second-factor policy confines to enrolment: "Second factor" only.
const enrolOnly = () => !!app.session?.second_factor_enrolment_required && !app.session.must_change_password;
const home = () => (!app.session ? '/signin' : app.session.must_change_password ? '/password'
  : enrolOnly() ? '/second-factor' : !isAdmin() ? '/password' : '/users');

export function go(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = `#${path}`;
}

export function setSession(s) {
  app.session = s;
  setCsrf(s?.csrf_token);
  const role = s?.user?.role;
  document.getElementById('nav').hidden = !s || s.must_change_password || !!s.second_factor_enrolment_required;
  for (const a of document.querySelectorAll('#nav a')) {
    const need = a.dataset.role;
    a.hidden = !(need === 'any' || (need === 'admin' && isAdmin()) || need === role);
  }
  const who = document.getElementById('who');
  who.textContent = s ? t('app.signedInAs', { name: s.user.display_name || s.user.username }) : '';
  // An admin's own record (to add their email, end their sessions): the
  // details pane, as for anyone else. Others have "My sessions" and the
  // password page; a link without href is plain text.
  if (s && isAdmin() && !s.must_change_password && !s.second_factor_enrolment_required) who.setAttribute('href', '#/users?open=me');
  else who.removeAttribute('href');
  document.getElementById('signout').hidden = !s;
  showHealth();
}

function showHealth() {
  const hl = app.health || {};
  const banner = document.getElementById('banner');
  banner.textContent = hl.clock === 'unset' ? t('app.clockUnset') : '';
  banner.hidden = hl.clock !== 'unset';
  const fp = app.session?.tls_fingerprint || hl.tls_fingerprint || hl.fingerprint;
  document.getElementById('footinfo').textContent = [
    fp && t('app.fingerprint', { fp }), hl.version && t('app.version', { v: hl.version })].filter(Boolean).join(' · ');
}

// The form controls of `root` by a key that survives a redraw: name (and
// value, for radios) plus the position among controls of that key.
function controls(root) {
  const seen = new Map();
  const out = new Map();
  for (const el of root.querySelectorAll('input[name], select[name], textarea[name]')) {
    if (el.readOnly || ['file', 'hidden', 'submit', 'button'].includes(el.type)) continue;
    const base = el.type === 'radio' ? `${el.name}=${el.value}` : el.name;
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    out.set(`${base}#${n}`, el);
  }
  return out;
}

// Copies the values of the old page's controls into the new page's, then
// lets the new page react (input/change), as if typed again.
// A control may change others (a link delivery turns "require change" off),
// so it goes round until nothing differs any more (a few rounds at most).
function carry(from, to) {
  const old = controls(from);
  for (let round = 0; round < 4; round++) {
    let changed = false;
    for (const [key, el] of controls(to)) {
      const was = old.get(key);
      if (!was || el.disabled) continue;
      const box = el.type === 'checkbox' || el.type === 'radio';
      if (box ? el.checked === was.checked : el.value === was.value) continue;
      if (box) el.checked = was.checked;
      else el.value = was.value;
      changed = true;
      if (el.type === 'radio' && !el.checked) continue;
      el.dispatchEvent(new Event(box || el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));
    }
    if (!changed) break;
  }
}

let token = 0;
let leaving = [];

async function render(opts = {}) {
  const raw = location.hash.replace(/^#/, '') || home();
  const [path, query] = raw.split('?');
  const route = ROUTES.find(([re]) => re.test(path));
  if (!route) return go(home());
  const [re, page, need] = route;
  if (need !== 'public') {
    if (!app.session) { app.after = raw; return go('/signin'); }
    if (app.session.must_change_password && path !== '/password') return go('/password');
    if (enrolOnly() && path !== '/second-factor') return go('/second-factor');
    if (need === 'admin' && !isAdmin()) return go(home());
    if (need === 'global_admin' && app.session.user.role !== 'global_admin') return go(home());
  } else if (app.session && path === '/signin') return go(home());
  const my = ++token;
  const main = document.getElementById('main');
  if (!opts.keep) {
    // The old page goes at once: nothing typed while the next one loads can
    // land in a form that is about to be replaced.
    main.replaceChildren();
    main.setAttribute('aria-busy', 'true');
  }
  for (const f of leaving) f();
  leaving = [];
  document.getElementById('slip').replaceChildren();
  const view = h('div', { class: 'view' });
  const ctx = {
    app, go, setSession, health, params: path.match(re).slice(1), query: new URLSearchParams(query || ''),
    keep: !!opts.keep, onLeave: (f) => leaving.push(f), focus: null,
    flash: app.flash, after: () => { const a = app.after; app.after = null; return a; },
  };
  app.flash = null;
  try {
    await page(view, ctx);
  } catch (e) {
    if (e.status === 401) return;
    view.replaceChildren(h('h1', { tabindex: '-1' }, t('err.title')), h('p', { class: 'alert error', role: 'alert' }, e.message));
  }
  if (my !== token) return;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#${path}` || (path.startsWith('/reset') && a.getAttribute('href') === '#/users')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // A language switch redraws the page: what was typed and chosen on the
  // old one carries over (a reset must go where the admin chose).
  if (opts.keep) carry(main, view);
  main.replaceChildren(view);
  main.removeAttribute('aria-busy');
  const h1 = view.querySelector('h1');
  document.title = `${h1 ? h1.textContent : ''} – ${t('app.name')}`;
  if (!opts.keep) {
    window.scrollTo(0, 0);
    (ctx.focus || h1 || main).focus({ preventScroll: true });
    // A field focused for the keyboard is on screen, not below the fold.
    if (ctx.focus) ctx.focus.scrollIntoView({ block: 'center' });
  }
}

// /healthz again (the sign-in and forgot pages show self-service only when on).
async function health() {
  try { app.health = await api('GET', '/healthz', undefined, { background: true, noAuthRedirect: true }); } catch { /* keep the last */ }
  showHealth();
  return app.health || {};
}

onUnauthorized(() => {
  if (!app.session) return;
  setSession(null);
  app.flash = t('app.sessionEnded');
  app.after = location.hash.replace(/^#/, '');
  go('/signin');
});

async function start() {
  await setLocale(pickLocale(), false);
  const lang = document.getElementById('lang');
  lang.value = locale;
  lang.addEventListener('change', async () => {
    await setLocale(lang.value, true);
    setSession(app.session);
    render({ keep: true });
  });
  // Also when the list is already at that address (no hashchange then).
  document.getElementById('who').addEventListener('click', (ev) => {
    if (!ev.currentTarget.hasAttribute('href')) return;
    ev.preventDefault();
    go('/users?open=me');
  });
  document.getElementById('signout').addEventListener('click', async () => {
    try { await api('DELETE', '/session'); } catch { /* gone already */ }
    setSession(null);
    go('/signin');
  });
  // An emailed link may come as /?token=… as well as /#/set-password?token=…
  const tok = new URLSearchParams(location.search).get('token');
  if (tok) history.replaceState(null, '', `/#/set-password?token=${encodeURIComponent(tok)}`);
  const [health, session] = await Promise.allSettled([
    api('GET', '/healthz', undefined, { background: true, noAuthRedirect: true }),
    api('GET', '/session', undefined, { noAuthRedirect: true }),
  ]);
  app.health = health.status === 'fulfilled' ? health.value : null;
  setZone(app.health?.time_zone);
  setSession(session.status === 'fulfilled' ? session.value : null);
  // Already signed in and sent back by a proxy: go straight to a configured site.
  const rd = returnTo();
  if (app.session && rd && !app.session.must_change_password) {
    try {
      const r = await api('GET', `/auth/redirect?rd=${encodeURIComponent(rd)}`, undefined, { noAuthRedirect: true });
      // A two_factor site and no app yet: set one up here first.
      if (!r.second_factor_required || app.session.second_factor_enrolment_required) return leaveFor(r.redirect);
      history.replaceState(null, '', `/#${enrolFirst(app, r.redirect)}`);
    } catch { /* not a configured site: stay here */ }
  }
  window.addEventListener('hashchange', () => render());
  // "Skip to main content": to the page's heading, past the bar and its
  // menu; the link must not become a route (#main is no page).
  document.querySelector('.skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    const m = document.getElementById('main');
    const h1 = m.querySelector('h1');
    (h1 || m).focus();
    (h1 || m).scrollIntoView({ block: 'start' });
  });
  render();
}

start();
