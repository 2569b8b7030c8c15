// The Reset password panel (spec §1, the seed's steps): auto-generate or
// create the password, "require change" ticked by default, delivery of the
// password or a set-password link to recipients the admin enters (pre-filled
// with the user's address), notify-user toggle, Reset; then the result: the
// password once (copy, print slip) or the link (copy), and the notifications
// with their live state. Several selected users: bulk reset (mode auto).
import { h } from './dom.js';
import { t, num, date, pluralKey } from './i18n.js';
import { api } from './api.js';
import { field, checkbox, radios, newPassword, errorBox, showError, clearErrors, fieldError, busy, button, copy, printSlips, liveNotifications, errText, announce } from './ui.js';
import { canReset } from './users.js';
import { callerCheck, bulkCallerReason } from './caller.js';

const EMAIL = /^[^\s@,;<>]+@[^\s@,;<>]+$/;
let saved = null;

// The reset options part of a form; values() returns the API's reset options
// or null after marking what is wrong. The recipients start empty: the seed
// asks for "an address the user can get to", and the mailbox on file is often
// the one the user can't open without this password. The addresses we know
// (alternate, primary, the admin's own) are one click away instead.
// linkDefault: the appliance can send links (public_url is set), so the safer
// link is the default delivery; the password stays one click away.
export function resetOptions({ user, emailInput, altInput, create, bulk, me, linkDefault }) {
  const mode = !bulk && radios({ legend: t('reset.passwordLegend'), name: 'mode', value: 'auto', options: [
    { value: 'auto', label: t('reset.auto') }, { value: 'manual', label: t('reset.manual') }] });
  // Helpdesk default: letters and digits in groups, to read aloud and type
  // on any keyboard; symbols stay one click away.
  const readable = checkbox({ label: t('reset.readable'), name: 'readable', checked: true, hint: t('reset.readableHint') });
  const pw = !bulk && newPassword({ label: t('reset.password'), name: 'password', userId: user?.id });
  if (pw) pw.hidden = true;
  const require = checkbox({ label: bulk ? t('reset.requireChangeBulk') : t('reset.requireChange'), name: 'require_change', checked: true });
  const delivery = radios({ legend: t('reset.deliveryLegend'), name: 'delivery', value: linkDefault ? 'link' : 'password', options: [
    { value: 'link', label: t('reset.deliverLink'), hint: t('reset.deliverLinkHint') },
    { value: 'password', label: t('reset.deliverPassword'), hint: t('reset.deliverPasswordHint') }] });
  if (!linkDefault) {
    delivery.inputs.link.disabled = true;
    delivery.hints.link.textContent = t('reset.linkNeedsUrl');
  }
  // A link lets the user choose the password, so there is nothing to change
  // at first sign-in: with a link the box is off and says why; the admin's
  // own choice comes back with "email the password".
  const requireLink = h('p', { class: 'hint', id: `${require.input.id}-link`, hidden: true }, t('reset.requireChangeLink'));
  require.append(requireLink);
  let wantRequire = true;
  require.input.addEventListener('change', () => { if (!require.input.disabled) wantRequire = require.input.checked; });
  const linkHint = h('p', { class: 'hint', hidden: true }, t('reset.linkNeedsAuto'));
  delivery.append(linkHint);
  const to = field({ label: t('reset.recipients'), name: 'notify', type: 'text', value: '',
    hint: bulk ? t('reset.recipientsHintBulk') : t('reset.recipientsHint'), autocomplete: 'off', attrs: { inputmode: 'email' } });
  const picks = h('div', { class: 'picks', role: 'group', 'aria-label': t('reset.picks') });
  const addresses = () => {
    const out = [];
    const alt = altInput ? altInput.value.trim() : user?.alternate_email;
    const primary = emailInput ? emailInput.value.trim() : user?.email;
    if (alt && EMAIL.test(alt)) out.push(['reset.pickAlt', alt]);
    if (primary && EMAIL.test(primary) && !bulk) out.push(['reset.pickPrimary', primary]);
    if (me?.email && EMAIL.test(me.email)) out.push(['reset.pickMe', me.email]);
    return out;
  };
  const current = () => to.input.value.split(/[,;\s]+/).map((x) => x.trim()).filter(Boolean);
  const drawPicks = () => {
    const have = current().map((x) => x.toLowerCase());
    picks.replaceChildren(...addresses().map(([key, addr]) => h('button', { type: 'button', class: 'btn chip', disabled: have.includes(addr.toLowerCase()),
      onclick: () => { to.input.value = [...current(), addr].join(', '); drawPicks(); to.input.focus(); sync(); } }, t(key, { email: addr }))));
    picks.hidden = !picks.children.length;
  };
  to.input.insertAdjacentElement('afterend', picks);
  to.input.addEventListener('input', () => { drawPicks(); sync(); });
  for (const i of [emailInput, altInput]) if (i) i.addEventListener('input', drawPicks);
  const ownAddr = () => (emailInput ? emailInput.value.trim() : user?.email) || '';
  const notifyUser = checkbox({ name: 'notify_user', checked: true, label: '', hint: create ? t('reset.notifyUserHintNew') : t('reset.notifyUserHint') });
  const where = h('p', { class: 'where', role: 'status' });
  // A reset does not end the directory's own lockout (AD): offered, on by default.
  const unlock = !bulk && user?.directory_locked && checkbox({ name: 'unlock', checked: true, label: t('reset.alsoUnlock'), hint: t('reset.alsoUnlockHint') });

  function sync() {
    const manual = mode && mode.value() === 'manual';
    if (pw) pw.hidden = !manual;
    delivery.inputs.link.disabled = manual || !linkDefault;
    linkHint.hidden = !manual;
    if ((manual || !linkDefault) && delivery.value() === 'link') delivery.inputs.password.checked = true;
    const link = delivery.value() === 'link';
    readable.hidden = manual || link;
    require.input.disabled = link;
    require.input.checked = !link && wantRequire;
    requireLink.hidden = !link;
    if (link) require.input.setAttribute('aria-describedby', requireLink.id);
    else require.input.removeAttribute('aria-describedby');
    to.querySelector('label').textContent = link ? t('reset.recipientsLink') : t('reset.recipients');
    const own = ownAddr();
    notifyUser.querySelector('label').textContent = bulk || !own ? t('reset.notifyUser') : t('reset.notifyUserAt', { email: own });
    // What will be sent where, in words, before Reset is pressed.
    const n = current().length;
    const secret = link ? t('reset.whatLink') : t('reset.whatPassword');
    where.textContent = n ? t('reset.whereSent', { what: secret, to: current().join(', ') }) : t('reset.whereNone', { what: secret });
  }
  if (mode) mode.addEventListener('change', sync);
  delivery.addEventListener('change', sync);
  if (emailInput) emailInput.addEventListener('input', sync);
  drawPicks();
  sync();

  const el = h('div', { class: 'reset-options' }, mode, readable, pw, require, unlock, delivery, to, where, notifyUser);
  const values = () => {
    const list = current();
    const bad = list.find((a) => !EMAIL.test(a));
    if (bad) { fieldError(to.input, t('err.invalid_email_named', { email: bad })); to.input.focus(); return null; }
    if (list.length > 5) { fieldError(to.input, t('err.too_many_recipients')); to.input.focus(); return null; }
    const o = { mode: mode ? mode.value() : 'auto', require_change: delivery.value() !== 'link' && require.input.checked, delivery: delivery.value(), notify: list, notify_user: notifyUser.input.checked,
      password_style: readable.input.checked ? 'readable' : 'symbols' };
    if (unlock) o.unlock = unlock.input.checked;
    if (o.mode === 'manual') {
      if (!pw.input.value) { fieldError(pw.input, t('err.required')); pw.input.focus(); return null; }
      o.password = pw.input.value;
    }
    return o;
  };
  return { el, values };
}

function secretBlock(item, label, value, typeKey) {
  const id = `secret-${item.user.id || 'new'}-${typeKey}`;
  const b = h('button', { type: 'button', class: 'btn' }, t(typeKey === 'link' ? 'result.copyLink' : 'result.copyPassword'));
  b.addEventListener('click', () => copy(value, b));
  return h('div', { class: 'secret-box' },
    h('label', { for: id }, label),
    h('input', { id, class: typeKey === 'link' ? 'secret link' : 'secret', readOnly: true, value, spellcheck: 'false', autocomplete: 'off' }),
    b);
}

// results: [{user, password?, link?, notifications?, error?}]
export function showResult(ctx, results, opts, headline) {
  const ok = results.filter((r) => !r.error);
  const slips = ok.filter((r) => r.password || r.link || opts.password).map((r) => ({
    username: r.user.username, display_name: r.user.display_name, password: r.password || opts.password, link: r.link,
    mustChange: opts.require_change !== false && !r.link,
    // The expiry the API answered for this reset; never the record read before it.
    expires: r.expires_at || null }));
  const h2 = h('h2', { tabindex: '-1' }, headline);
  const out = h('section', { class: 'result', 'aria-labelledby': 'res-h' }, h2);
  h2.id = 'res-h';
  const print = slips.length && h('button', { type: 'button', class: 'btn' }, t('result.print'));
  if (print) print.addEventListener('click', () => printSlips(slips));
  if (results.length === 1 && !results[0].error) {
    const r = results[0];
    const exp = h('p', { class: 'hint' });
    if (r.password) out.append(secretBlock(r, t('result.passwordFor', { name: r.user.username }), r.password, 'password'), h('p', { class: 'once' }, t('result.once')));
    else if (r.link) out.append(secretBlock(r, t('result.linkFor', { name: r.user.username }), r.link, 'link'), h('p', { class: 'once' }, t('result.linkOnce')));
    else out.append(h('p', {}, t('result.manualSet')));
    out.append(exp);
    const row = out.querySelector('.secret-box');
    if (print && row) row.append(print);
    else if (print) out.append(h('div', { class: 'actions' }, print));
    if (r.expires_at) exp.textContent = t(r.link ? 'result.linkExpires' : 'result.expires', { when: date(r.expires_at) });
    // What worked but needs the admin (the directory's own words, in English).
    for (const w of r.warnings || []) out.append(h('p', { class: 'error', role: 'alert' }, t(`warn.${w.code}`), ' ', h('span', { lang: 'en' }, w.message)));
  } else {
    const tb = h('tbody', {}, results.map((r) => h('tr', {},
      h('td', {}, r.user.username || `#${r.id}`),
      h('td', {}, r.error ? h('span', { class: 'error' }, errText({ code: r.error.code || r.error, message: r.error.message || r.error })) : t('result.done')),
      h('td', { class: 'wrap mono' }, r.password || r.link || ''),
      h('td', {}, r.expires_at ? date(r.expires_at) : ''),
      h('td', {}, (r.password || r.link) && h('button', { type: 'button', class: 'btn', onclick: (ev) => copy(r.password || r.link, ev.currentTarget) },
        t('result.copy'), h('span', { class: 'sr-only' }, ` ${r.user.username}`))))));
    out.append(h('div', { class: 'table-wrap' }, h('table', { class: 'grid' }, h('caption', { class: 'sr-only' }, headline),
      h('thead', {}, h('tr', {}, ['users.username', 'result.status', 'result.secret', 'result.expiresCol', 'notif.action'].map((k) => h('th', { scope: 'col' }, t(k))))), tb)),
    ok.some((r) => r.password || r.link) && h('p', { class: 'once' }, t(ok.some((r) => r.password) ? 'result.once' : 'result.linksOnce')));
    // The new passwords once as a CSV file, under the same rule as the
    // screen: one download, then the button is gone.
    const rowsCsv = ok.filter((r) => r.password || r.link);
    const dl = rowsCsv.length && h('button', { type: 'button', class: 'btn' }, t('result.csv'));
    if (dl) {
      dl.addEventListener('click', () => {
        const q = (v) => `"${String(v ?? '').replace(/"/g, '""')}"`;
        const lines = [['username', 'display_name', 'password', 'link', 'expires_at'].join(','),
          ...rowsCsv.map((r) => [r.user.username, r.user.display_name, r.password || '', r.link || '', r.expires_at || ''].map(q).join(','))];
        const url = URL.createObjectURL(new Blob([`${lines.join('\r\n')}\r\n`], { type: 'text/csv' }));
        const a = h('a', { href: url, download: 'resetd-new-passwords.csv', class: 'sr-only' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
        dl.replaceWith(h('span', { class: 'hint', role: 'status' }, t('result.csvDone')));
      });
    }
    if (print || dl) out.append(h('div', { class: 'actions' }, print, dl));
  }
  const notes = ok.flatMap((r) => r.notifications || []);
  // Say plainly when no mail carries the secret, so nobody waits for one.
  // "Copy it" only when there is something on screen to copy.
  const shown = ok.some((r) => r.password || r.link);
  if (ok.length && !(opts.notify || []).length) out.insertBefore(h('p', { class: 'alert ok' }, t(opts.delivery === 'link' ? 'result.linkNotMailed' : shown ? 'result.notMailed' : 'result.notMailedTyped')), h2.nextSibling);
  const ids = [...new Set(ok.map((r) => r.user.id).filter(Boolean))];
  const live = liveNotifications(notes, ids.length <= 3 ? ids : null);
  ctx.onLeave(live.stop);
  out.append(h('h2', {}, t('notif.title')), live.el,
    h('div', { class: 'actions' }, h('a', { href: '#/users', class: 'btn primary' }, t('result.back'))));
  return out;
}

export async function reset(view, ctx) {
  const me = ctx.app.session.user;
  const single = ctx.params[0];
  const ids = single ? [Number(single)] : (ctx.query.get('ids') || '').split(',').map(Number).filter((n) => n > 0).slice(0, 40);
  const users = await Promise.all(ids.map((id) => api('GET', `/users/${id}`).then((r) => r.user || r)));
  const title = h('h1', { tabindex: '-1' }, t('reset.title'));
  if (ctx.keep && saved && saved.hash === location.hash) {
    view.append(title, showResult(ctx, saved.results, saved.opts, t(saved.head, saved.vars)));
    return;
  }
  saved = null;
  const bulk = users.length > 1;
  const err = errorBox();
  const who = bulk
    ? h('div', {}, h('p', {}, t('reset.bulkIntro', { n: num(users.length) })), h('ul', { class: 'names' }, users.map((u) => h('li', {}, `${u.display_name || u.username} (${u.username})`))))
    : h('p', { class: 'who-line' }, t('reset.for', { name: users[0].display_name || users[0].username, username: users[0].username }));
  const blocked = users.filter((u) => !canReset(me, u));
  const opts = resetOptions({ user: bulk ? null : users[0], bulk, me, linkDefault: !!ctx.app.session.link_delivery });
  const caller = blocked.length > 0 ? null
    : bulk ? await bulkCallerReason() : await callerCheck({ user: users[0], autostart: ctx.query.get('verify') === '1' });
  const submit = h('button', { type: 'submit', class: 'btn primary', disabled: blocked.length > 0 }, t('reset.submit'));
  const form = h('form', { novalidate: true }, err, who,
    blocked.length > 0 && h('p', { class: 'alert error' }, t('reset.notAllowed', { names: blocked.map((u) => u.username).join(', ') })),
    h('p', { class: 'hint' }, bulk ? t('reset.stepsBulk') : t('reset.steps')), caller && caller.el, opts.el,
    h('div', { class: 'actions sticky-actions' }, submit, h('a', { href: '#/users', class: 'btn link' }, t('common.cancel'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const o = opts.values();
    if (!o) return;
    const checked = caller ? caller.values() : {};
    if (!checked) return;
    Object.assign(o, checked);
    busy(submit, async () => {
      try {
        let results;
        if (bulk) {
          const r = await api('POST', '/users/password-reset', { ids, ...o });
          results = (r.results || []).map((x) => ({ ...x, user: x.user || users.find((u) => u.id === x.id) || { id: x.id, username: `#${x.id}` } }));
        } else {
          const r = await api('POST', `/users/${users[0].id}/password-reset`, o);
          results = [{ ...r, user: r.user || users[0] }];
        }
        const failed = results.filter((r) => r.error).length;
        const head = bulk ? pluralKey(failed ? 'result.bulkPartial' : 'result.bulkDone', results.length - failed) : 'result.done1';
        const vars = { n: num(results.length - failed), failed: num(failed), name: users[0].username };
        saved = { hash: location.hash, results, opts: o, head, vars };
        const res = showResult(ctx, results, o, t(head, vars));
        view.replaceChildren(title, res);
        announce(t(head, vars));
        res.querySelector('h2').focus();
      } catch (e) {
        if (e.status === 422 && e.field === 'password') fieldError(form.querySelector('[name=password]'), errText(e));
        showError(form, err, e);
      }
    });
  });
  view.append(title, form);
  // Keyboard: straight to the recipients; Enter there resets.
  if (!bulk) ctx.focus = form.querySelector('input[name=notify]');
}
