// A user's details, the workbench of a reset's follow-up: the record, the
// password's state (temporary and until when, who set it, must change, the
// locks), sign-in (last one, open sessions, "Sign out of all sessions"),
// the user's recent messages with Retry, their audit (global admins), and
// Reset / Unlock / Block / Edit. Also one's own record (the header's name).
import { h } from './dom.js';
import { t, tn, num, date, has } from './i18n.js';
import { api } from './api.js';
import { button, errorBox, statusBox, say, busy, errText, liveNotifications } from './ui.js';

const named = (prefix, v) => (v && has(`${prefix}.${v}`) ? t(`${prefix}.${v}`) : v || '');

// opts: { dialog, me, user (a list row or {id}), canReset, canManage,
//         statusOf, onUnlock, onBlock, onEnable, onChanged }
export async function openDetails(opts) {
  const { dialog, me } = opts;
  let u;
  const err = errorBox();
  const msg = statusBox();
  try {
    u = await api('GET', `/users/${opts.user.id}`);
  } catch (e) {
    // Still show what the list had, with the reason the rest is missing.
    u = { ...opts.user };
    say(err, errText(e));
  }
  const self = u.id === me.id;
  const name = u.display_name || u.username;
  const row = (k, v) => [h('dt', {}, t(k)), h('dd', {}, v == null || v === '' ? '—' : v)];
  const now = Date.now();

  // Password: what kind it is now, who set it and when, the locks.
  const tmp = u.temporary_password_expires_at;
  const pwState = tmp
    ? (Date.parse(tmp) > now ? t('det.pwTemporary', { when: date(tmp) }) : t('det.pwTempExpired', { when: date(tmp) }))
    : u.password_changed_at ? t('det.pwSet', { when: date(u.password_changed_at) }) : t('det.pwUnknown');
  const setBy = u.password_set && t('det.setByText', {
    who: u.password_set.by, when: date(u.password_set.at), what: named('act', u.password_set.action) });
  const locks = [];
  if (u.locked_until) locks.push(h('div', {}, t('det.lockThrottle', { when: date(u.locked_until) })));
  if (u.directory_locked) locks.push(h('div', {}, t('det.lockDirectory')));
  if (!locks.length) locks.push(t('det.lockNone'));

  // Sign-in: the last one, open sessions, and ending them all.
  const sessions = h('span', {}, num(u.active_sessions ?? 0));
  const mayEnd = self || opts.canReset(me, u);
  const endAll = mayEnd && button(self ? t('det.signOutOthers') : t('det.signOutAll'), async (ev) => {
    say(err, ''); say(msg, '');
    await busy(ev.target, async () => {
      try {
        const r = await api('DELETE', `/users/${u.id}/sessions`);
        say(msg, tn('det.signedOut', r.ended, { name: u.username }));
        sessions.textContent = num(self ? (u.active_sessions ? 1 : 0) : 0);
      } catch (e) { say(err, errText(e)); }
    });
  });

  // Recent messages to or about this user, with Retry (live state).
  let live = null;
  let messages = h('p', {}, t('notif.none'));
  try {
    const r = await api('GET', `/notifications?user_id=${u.id}&limit=5`, undefined, { background: true });
    live = liveNotifications(Array.isArray(r) ? r : r.notifications || [], [u.id]);
    messages = live.el;
  } catch { /* the section says none */ }

  // Their audit: global admins only (the audit is theirs to read).
  let auditPart = null;
  if (me.role === 'global_admin' && u.username) {
    auditPart = h('p', {}, t('det.noAudit'));
    try {
      const r = await api('GET', `/audit?target=${encodeURIComponent(u.username)}&limit=5`, undefined, { background: true });
      const entries = r.entries || r.audit || [];
      if (entries.length) {
        auditPart = h('table', { class: 'grid' }, h('caption', { class: 'sr-only' }, t('det.audit')),
          h('thead', {}, h('tr', {}, ['audit.when', 'audit.actor', 'audit.action', 'audit.outcome'].map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', {}, entries.map((e) => h('tr', {}, h('td', {}, date(e.at)), h('td', {}, e.actor),
            h('td', {}, named('act', e.action)), h('td', {}, named('outcome', e.outcome))))));
      }
    } catch { auditPart = null; }
  }

  const close = h('button', { type: 'button', class: 'btn' }, t('common.close'));
  const acts = [
    opts.canReset(me, u) && h('a', { class: 'btn primary', href: `#/reset/${u.id}` }, t('users.reset')),
    opts.canReset(me, u) && !self && h('a', { class: 'btn', href: `#/reset/${u.id}?verify=1` }, t('caller.start')),
    u.locked && opts.canReset(me, u) && button(t('users.unlock'), () => { dialog.close(); opts.onUnlock(u); }),
    opts.canManage(me, u) && button(u.disabled ? t('users.enable') : t('users.disable'), () => { dialog.close(); (u.disabled ? opts.onEnable : opts.onBlock)(u); }),
    (opts.canManage(me, u) || self) && h('a', { class: 'btn', href: `#/users/${u.id}` }, t('users.edit')),
  ];
  const section = (key, ...kids) => h('section', { 'aria-labelledby': `det-${key}` }, h('h3', { id: `det-${key}` }, t(`det.${key}`)), ...kids);
  dialog.classList.add('details');
  dialog.replaceChildren(h('h2', { id: 'del-title' }, name), err, msg,
    h('dl', { class: 'facts' }, row('users.username', u.username), row('users.email', u.email), row('users.altEmail', u.alternate_email),
      row('users.role', named('role', u.role)), row('users.status', opts.statusOf(u)), row('users.created', u.created_at && date(u.created_at))),
    section('password', h('dl', { class: 'facts' }, row('det.pwState', pwState), row('det.setBy', setBy),
      row('det.mustChange', u.must_change_password ? t('det.yes') : t('det.no')), row('det.lock', locks))),
    section('signIn', h('dl', { class: 'facts' },
      row('det.lastSignIn', u.last_sign_in_at ? date(u.last_sign_in_at) : t('det.never')), row('det.sessions', sessions)), endAll),
    section('messages', messages),
    auditPart && section('audit', auditPart),
    h('div', { class: 'actions' }, acts, close));
  close.onclick = () => dialog.close();
  dialog.addEventListener('close', () => { if (live) live.stop(); dialog.classList.remove('details'); }, { once: true });
  if (!dialog.open) dialog.showModal();
  (dialog.querySelector('.actions .btn') || close).focus();
}
