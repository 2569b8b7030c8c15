// Users → Active users: search as you type, sort, page, select; the actions
// (Reset password, Add user, Edit, Disable/Enable, Unlock, Delete), and the
// add / edit user form.
import { h, debounce, wbr } from './dom.js';
import { t, num, date, foldChars, upper } from './i18n.js';
import { api, qs } from './api.js';
import { field, select, checkbox, button, errorBox, statusBox, say, showError, clearErrors, fieldError, busy, errText, announce } from './ui.js';
import { resetOptions, showResult } from './reset.js';
import { exportLink } from './import.js';
import { openDetails } from './details.js';

export const ROLES = ['user', 'helpdesk_admin', 'password_admin', 'user_admin', 'global_admin'];
const CAN_RESET = {
  global_admin: ROLES,
  user_admin: ['user', 'helpdesk_admin', 'password_admin', 'user_admin'],
  helpdesk_admin: ['user', 'helpdesk_admin'],
  password_admin: ['user', 'password_admin'],
};
export const canReset = (me, u) => me.id !== u.id && (CAN_RESET[me.role] || []).includes(u.role);
export const canManage = (me, u) => me.id !== u.id && (me.role === 'global_admin' || (me.role === 'user_admin' && canReset(me, u)));

const list = { q: '', sort: 'username', offset: 0, limit: 50, show: '', selected: new Map() };
// The list filters: "blocked" is the disabled flag, the rest the API's filter.
const SHOWS = ['', 'blocked', 'must_change', 'locked', 'admins', 'temp_expiring'];

// Marks the part of text that matches the search, folding case by the
// locale's rules (Turkish i/İ, ı/I).
function mark(text, q) {
  text = text || '';
  const fq = foldChars(q.trim());
  if (!fq.length) return text;
  const chars = Array.from(text);
  const ft = foldChars(text);
  for (let i = 0; i + fq.length <= ft.length; i++) {
    if (fq.every((c, j) => ft[i + j] === c)) {
      return [chars.slice(0, i).join(''), h('mark', {}, chars.slice(i, i + fq.length).join('')), chars.slice(i + fq.length).join('')];
    }
  }
  return text;
}

const roleName = (r) => t(`role.${r}`);

function statusOf(u) {
  const s = [];
  if (u.disabled) s.push(h('span', { class: 'badge st-failed' }, upper(t('user.disabled'))));
  if (u.directory_locked) s.push(h('span', { class: 'badge st-queued' }, upper(t('user.directoryLocked'))));
  else if (u.locked) s.push(h('span', { class: 'badge st-queued' }, upper(u.locked_until ? t('user.lockedUntil', { when: date(u.locked_until) }) : t('user.locked'))));
  if (u.must_change_password) s.push(h('span', { class: 'badge st-sending' }, upper(t('user.mustChange'))));
  if (!s.length) s.push(h('span', { class: 'badge st-sent' }, upper(t('user.active'))));
  return s;
}

export async function users(view, ctx) {
  const me = ctx.app.session.user;
  if (!ctx.keep) list.selected.clear();
  const msg = statusBox();
  const err = errorBox();
  const search = field({ label: t('users.search'), name: 'q', type: 'search', value: list.q, attrs: { enterkeyhint: 'search' } });
  const count = h('p', { class: 'count', role: 'status' });
  const tbody = h('tbody');
  const theadRow = h('tr');
  const pager = h('div', { class: 'pager' });
  const tools = h('div', { class: 'toolbar' });
  const dialog = h('dialog', { 'aria-labelledby': 'del-title' });
  let rows = [];
  let total = 0;

  const selected = () => [...list.selected.values()];
  const one = () => (list.selected.size === 1 ? selected()[0] : null);

  function drawTools() {
    const u = one();
    const n = list.selected.size;
    const resetOk = n > 0 && selected().every((x) => canReset(me, x));
    const manage = ['global_admin', 'user_admin'].includes(me.role);
    tools.replaceChildren(
      h('button', { type: 'button', class: 'btn primary', disabled: !resetOk,
        onclick: () => ctx.go(n === 1 ? `/reset/${u.id}` : `/reset?ids=${selected().map((x) => x.id).join(',')}`) },
      n > 1 ? t('users.resetMany', { n: num(n) }) : t('users.reset')),
      manage && button(t('users.add'), () => ctx.go('/users/new')),
      manage && button(t('csv.add'), () => ctx.go('/users/import')),
      manage && h('button', { type: 'button', class: 'btn', disabled: !(u && canManage(me, u)), onclick: () => ctx.go(`/users/${u.id}`) }, t('users.edit')),
      manage && h('button', { type: 'button', class: 'btn', disabled: !(u && canManage(me, u)), onclick: () => (u.disabled ? act(u, 'PATCH', `/users/${u.id}`, { disabled: false }, 'users.enabled') : confirmBlock(u)) },
        u && u.disabled ? t('users.enable') : t('users.disable')),
      h('button', { type: 'button', class: 'btn', disabled: !(u && u.locked && canReset(me, u)), onclick: () => act(u, 'POST', `/users/${u.id}/unlock`, {}, 'users.unlocked') }, t('users.unlock')),
      manage && h('button', { type: 'button', class: 'btn danger', disabled: !(u && canManage(me, u)), onclick: () => confirmDelete(u) }, t('users.delete')));
    tools.append(exportLink(list.q));
    if (n > 1 && !resetOk) tools.append(h('p', { class: 'hint' }, t('users.cantResetSome')));
  }

  async function act(u, method, path, body, doneKey) {
    say(err, '');
    say(msg, '');
    try {
      await api(method, path, body);
      say(msg, t(doneKey, { name: u.username }));
      await load();
    } catch (e) { say(err, errText(e)); }
  }

  // The user's details with their actions, opened from the name (the admin
  // centre's habit), a row's menu, or the header's name (one's own).
  const details = (u) => openDetails({ dialog, me, user: u, canReset, canManage, statusOf,
    onUnlock: (x) => act(x, 'POST', `/users/${x.id}/unlock`, {}, 'users.unlocked'),
    onEnable: (x) => act(x, 'PATCH', `/users/${x.id}`, { disabled: false }, 'users.enabled'),
    onBlock: (x) => confirmBlock(x) }).catch((e) => say(err, errText(e)));

  // A row's menu: Reset password and Details, without selecting the row.
  function rowMenu(u) {
    const items = [
      canReset(me, u) && h('a', { role: 'menuitem', href: `#/reset/${u.id}`, tabindex: '-1' }, t('users.reset')),
      h('button', { type: 'button', role: 'menuitem', tabindex: '-1', onclick: () => { hide(); details(u); } }, t('menu.details')),
    ].filter(Boolean);
    // Named by the username: "Actions for Dora Diaz" would also answer to
    // the name button's "Dora Diaz".
    const label = t('menu.actions', { name: u.username });
    const menu = h('div', { role: 'menu', class: 'row-menu', 'aria-label': label, hidden: true }, items);
    const toggle = h('button', { type: 'button', class: 'btn menu-btn', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
      'aria-label': label }, h('span', { 'aria-hidden': 'true' }, '⋯'));
    function hide(back) { menu.hidden = true; toggle.setAttribute('aria-expanded', 'false'); if (back) toggle.focus(); }
    toggle.addEventListener('click', () => {
      const open = menu.hidden;
      for (const m of tbody.querySelectorAll('.row-menu')) m.hidden = true;
      for (const b of tbody.querySelectorAll('.menu-btn')) b.setAttribute('aria-expanded', 'false');
      menu.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      if (open) items[0].focus();
    });
    menu.addEventListener('keydown', (ev) => {
      const i = items.indexOf(document.activeElement);
      if (ev.key === 'Escape') { ev.preventDefault(); hide(true); }
      else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        items[(i + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
      }
    });
    const wrap = h('div', { class: 'menu-wrap' }, toggle, menu);
    // Focus going anywhere else (a click outside, Tab) closes it.
    wrap.addEventListener('focusout', (ev) => { if (!wrap.contains(ev.relatedTarget)) hide(); });
    return wrap;
  }

  // Blocking ends the user's sessions at once: ask first, as Delete does.
  function confirmBlock(u) {
    const name = u.display_name || u.username;
    const yes = h('button', { type: 'button', class: 'btn danger' }, t('users.disable'));
    const no = h('button', { type: 'button', class: 'btn' }, t('common.cancel'));
    dialog.replaceChildren(h('h2', { id: 'del-title' }, t('users.blockTitle', { name })),
      h('p', {}, t('users.blockText', { name, username: u.username })),
      h('div', { class: 'actions' }, yes, no));
    no.onclick = () => dialog.close();
    yes.onclick = async () => {
      dialog.close();
      await act(u, 'PATCH', `/users/${u.id}`, { disabled: true }, 'users.disabledDone');
    };
    dialog.showModal();
    no.focus();
  }

  function confirmDelete(u) {
    const yes = h('button', { type: 'button', class: 'btn danger' }, t('users.deleteConfirm'));
    const no = h('button', { type: 'button', class: 'btn' }, t('common.cancel'));
    dialog.replaceChildren(h('h2', { id: 'del-title' }, t('users.deleteTitle')),
      h('p', {}, t('users.deleteText', { name: u.display_name || u.username, username: u.username })),
      h('div', { class: 'actions' }, yes, no));
    no.onclick = () => dialog.close();
    yes.onclick = async () => {
      dialog.close();
      list.selected.delete(u.id);
      await act(u, 'DELETE', `/users/${u.id}`, undefined, 'users.deleted');
    };
    dialog.showModal();
    no.focus();
  }

  function drawHead() {
    const cols = [['display_name', 'users.displayName'], ['username', 'users.username'], [null, 'users.email'], [null, 'users.role'], ['created_at', 'users.created'], [null, 'users.status']];
    const all = h('input', { type: 'checkbox', id: 'sel-all', checked: rows.length > 0 && rows.every((u) => list.selected.has(u.id)) });
    all.addEventListener('change', () => {
      for (const u of rows) if (all.checked) list.selected.set(u.id, u); else list.selected.delete(u.id);
      drawBody(); drawTools();
    });
    theadRow.replaceChildren(h('th', { scope: 'col', class: 'sel' }, all, h('label', { for: 'sel-all', class: 'sr-only' }, t('users.selectAll'))),
      ...cols.map(([key, label]) => {
        if (!key) return h('th', { scope: 'col' }, t(label));
        const active = list.sort.replace('-', '') === key;
        const desc = list.sort.startsWith('-');
        return h('th', { scope: 'col', 'aria-sort': active ? (desc ? 'descending' : 'ascending') : 'none' },
          h('button', { type: 'button', class: 'sort', onclick: () => { list.sort = active && !desc ? `-${key}` : key; fresh(); load(); } },
            t(label), h('span', { 'aria-hidden': 'true' }, active ? (desc ? ' ▼' : ' ▲') : '')));
      }), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('menu.column'))));
  }

  function drawBody() {
    tbody.replaceChildren(...rows.map((u) => {
      const id = `sel-${u.id}`;
      const box = h('input', { type: 'checkbox', id, checked: list.selected.has(u.id) });
      box.addEventListener('change', () => {
        if (box.checked) list.selected.set(u.id, u); else list.selected.delete(u.id);
        drawBody(); drawTools(); drawHead();
      });
      const tr = h('tr', { class: list.selected.has(u.id) ? 'selected' : '' },
        h('td', { class: 'sel' }, box, h('label', { for: id, class: 'sr-only' }, t('users.select', { name: u.display_name || u.username }))),
        h('td', {}, h('button', { type: 'button', class: 'name-btn', onclick: () => details(u) }, mark(u.display_name || u.username, list.q))),
        h('td', { class: 'wrap' }, mark(u.username, list.q)),
        h('td', {}, h('span', { class: 'email' }, [mark(u.email, list.q)].flat().map((x) => (typeof x === 'string' ? wbr(x) : x)))),
        h('td', {}, roleName(u.role)),
        h('td', {}, date(u.created_at)),
        h('td', {}, statusOf(u)),
        h('td', { class: 'menu-cell' }, rowMenu(u)));
      tr.addEventListener('click', (ev) => { if (!ev.target.closest('input, label, button, a')) box.click(); });
      return tr;
    }));
    if (!rows.length) tbody.append(h('tr', {}, h('td', { colspan: 8 }, t('users.none'))));
  }

  function drawPager() {
    const pages = Math.max(1, Math.ceil(total / list.limit));
    const pageNo = Math.floor(list.offset / list.limit) + 1;
    pager.replaceChildren(
      h('button', { type: 'button', class: 'btn', disabled: list.offset === 0, onclick: () => { const o = Math.max(0, list.offset - list.limit); list.selected.clear(); list.offset = o; load(); } }, t('common.previous')),
      h('span', {}, t('common.page', { page: num(pageNo), pages: num(pages) })),
      h('button', { type: 'button', class: 'btn', disabled: list.offset + list.limit >= total, onclick: () => { const o = list.offset + list.limit; list.selected.clear(); list.offset = o; load(); } }, t('common.next')));
  }

  // Directory mode: when the list was last read from the directory, and a refresh.
  const syncLine = h('p', { class: 'hint', role: 'status' });
  function drawSync(d) {
    syncLine.replaceChildren();
    if (!d || d.kind === 'none') return;
    const ls = d.last_sync;
    const text = !ls || !ls.at ? t('dir.neverSynced') : t('dir.lastSync', { when: date(ls.at) });
    const refresh = h('button', { type: 'button', class: 'btn' }, t('dir.syncNow'));
    refresh.addEventListener('click', () => busy(refresh, async () => {
      try { await api('POST', '/directory/sync', {}); await load(); } catch (e) { say(err, errText(e)); }
    }));
    syncLine.append(text, ' ');
    if (ls && ls.ok === false && ls.error) syncLine.append(t('dir.syncFailed', { error: ls.error }), ' ');
    if (d.open_intents > 0) syncLine.append(t('dir.openIntents', { n: num(d.open_intents) }), ' ');
    syncLine.append(refresh);
  }

  let loadSeq = 0;
  async function load() {
    const my = ++loadSeq;
    try {
      const r = await api('GET', `/users${qs({ q: list.q.trim(), offset: list.offset, limit: list.limit, sort: list.sort,
        disabled: list.show === 'blocked' ? 'true' : undefined, filter: list.show && list.show !== 'blocked' ? list.show : undefined })}`);
      if (my !== loadSeq) return;
      rows = r.users || [];
      total = r.total ?? rows.length;
      // Keep the selection's data fresh for rows we can see.
      for (const u of rows) if (list.selected.has(u.id)) list.selected.set(u.id, u);
      drawSync(r.directory);
      count.textContent = total ? t('users.count', { from: num(list.offset + 1), to: num(list.offset + rows.length), total: num(total) }) : t('users.none');
      drawHead(); drawBody(); drawPager(); drawTools();
    } catch (e) { if (my === loadSeq) say(err, errText(e)); }
  }

  // A new search, sort or page shows other rows: the selection starts again,
  // so nothing that is no longer on screen can be reset, blocked or deleted.
  const fresh = () => { list.selected.clear(); list.offset = 0; say(msg, ''); say(err, ''); };
  search.input.addEventListener('input', debounce(() => {
    if (search.input.value.trim() === list.q.trim()) return;
    list.q = search.input.value; fresh(); load();
  }, 250));
  // Keyboard: Enter in the search with a single match ticks it and moves to
  // Reset password, so search → reset is a few keys.
  search.input.addEventListener('keydown', async (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    if (search.input.value.trim() !== list.q.trim()) { list.q = search.input.value; fresh(); await load(); }
    if (rows.length === 1 && canReset(me, rows[0])) {
      list.selected.clear();
      list.selected.set(rows[0].id, rows[0]);
      drawBody(); drawTools(); drawHead();
      tools.querySelector('.btn.primary').focus();
    }
  });
  const show = select({ label: t('filter.label'), name: 'show', value: list.show,
    options: SHOWS.map((v) => ({ value: v, label: t(`filter.${v || 'all'}`) })) });
  show.input.addEventListener('change', () => { list.show = show.input.value; fresh(); load(); });
  if (ctx.flash) say(msg, ctx.flash);
  drawTools();
  await load();
  view.append(h('h1', { tabindex: '-1' }, t('users.title')), msg, err, syncLine, tools, h('div', { class: 'list-filters' }, search, show), count,
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid users' }, h('caption', { class: 'sr-only' }, t('users.title')), h('thead', {}, theadRow), tbody)),
    pager, dialog);
  // #/users?open=ID (or open=me, the header's name): the details at once.
  const open = ctx.query.get('open');
  if (open && !ctx.keep) details({ id: open === 'me' ? me.id : Number(open) });
}

export async function userForm(view, ctx) {
  const me = ctx.app.session.user;
  const id = ctx.params[0];
  const u = id ? await api('GET', `/users/${id}`).then((r) => r.user || r) : null;
  const err = errorBox();
  const roles = ROLES.filter((r) => me.role === 'global_admin' || r !== 'global_admin');
  const f = {
    username: field({ label: t('users.username'), name: 'username', value: u?.username, hint: t('users.usernameHint'), attrs: { autocapitalize: 'none', readOnly: !!u } }),
    display_name: field({ label: t('users.displayName'), name: 'display_name', value: u?.display_name }),
    email: field({ label: t('users.email'), name: 'email', type: 'email', value: u?.email, autocomplete: 'off' }),
    alternate_email: field({ label: t('users.altEmail'), name: 'alternate_email', type: 'email', value: u?.alternate_email, hint: t('users.altEmailHint') }),
    role: select({ label: t('users.role'), name: 'role', value: u?.role || 'user', options: roles.map((r) => ({ value: r, label: roleName(r) })) }),
    locale: select({ label: t('users.locale'), name: 'locale', value: u?.locale || 'en', options: ['en', 'zh-TW', 'tr-TR'].map((l) => ({ value: l, label: t(`lang.${l}`) })) }),
  };
  const disabled = u && checkbox({ label: t('users.isDisabled'), name: 'disabled', checked: u.disabled });
  // Editing one's own addresses needs the current password (the server asks for it).
  const self = u && u.id === me.id;
  const current = self && field({ label: t('users.currentPassword'), name: 'current_password', type: 'password', autocomplete: 'current-password', hint: t('users.currentPasswordHint') });
  const opts = !u && resetOptions({ user: null, emailInput: f.email.input, altInput: f.alternate_email.input, create: true, me, linkDefault: !!ctx.app.session.link_delivery });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, u ? t('common.save') : t('users.addSubmit'));
  const form = h('form', { novalidate: true }, err,
    h('div', { class: 'cols' }, Object.values(f), disabled, current),
    opts && opts.el,
    h('div', { class: 'actions' }, submit, h('a', { href: '#/users', class: 'btn link' }, t('common.cancel'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = {};
    for (const [k, w] of Object.entries(f)) if (!(u && k === 'username')) body[k] = w.input.value.trim();
    if (!body.alternate_email) body.alternate_email = u ? '' : undefined;
    if (!u && !/^[a-z0-9._-]{1,64}$/i.test(body.username)) return fieldError(f.username.input, t('err.invalid_username'));
    if (u) body.disabled = disabled.input.checked;
    if (current && current.input.value) body.current_password = current.input.value;
    let extra = {};
    if (opts) { extra = opts.values(); if (!extra) return; }
    busy(submit, async () => {
      try {
        if (u) {
          const saved = await api('PATCH', `/users/${u.id}`, body);
          // One's own record: the session's copy follows, so the header's name
          // and "Add my address" on the reset panel show the new values at once.
          if (self && saved && saved.id === me.id) ctx.setSession({ ...ctx.app.session, user: { ...ctx.app.session.user, ...saved } });
          ctx.app.flash = t('users.saved', { name: u.username });
          ctx.go('/users');
        } else {
          const r = await api('POST', '/users', { ...body, ...extra });
          const nu = r.user || {};
          announce(t('users.addedDone', { name: nu.username || body.username }));
          const res = showResult(ctx, [{ user: nu, ...r }], extra, t('users.addedDone', { name: nu.username || body.username }));
          res.querySelector('.actions:last-child').append(button(t('users.addAnother'), () => ctx.go('/users/new')));
          view.replaceChildren(h('h1', { tabindex: '-1' }, t('users.addTitle')), res);
          view.querySelector('h2').focus();
        }
      } catch (e) { showError(form, err, e); }
    });
  });
  view.append(h('h1', { tabindex: '-1' }, u ? t('users.editTitle', { name: u.username }) : t('users.addTitle')), form);
  ctx.focus = u ? f.display_name.input : f.username.input;
}
