// Audit: filters, paging, CSV export; the service's short English details
// shown in the page's language where known.
import { h, wbr } from './dom.js';
import { t, tn, num, date, has, dayStart } from './i18n.js';
import { api, qs } from './api.js';
import { field, select, button, errorBox, say, busy, errText } from './ui.js';

const ACTIONS = ['sign_in', 'sign_out', 'password_change', 'password_reset', 'set_password_link', 'user_create', 'user_create_password', 'user_import',
  'user_update', 'user_delete', 'user_unlock', 'setting_change', 'relay_test', 'notification_sent', 'notification_failed',
  'notification_expired', 'notification_superseded', 'notification_retry', 'self_service_request', 'self_service_reset', 'session_end', 'expiry_reminder', 'backup',
  'settings_change', 'directory_test', 'directory_sync', 'directory_role', 'directory_user_removed', 'password_reset_recovered',
  'temp_password_expired', 'caller_verification_start', 'caller_verification', 'caller_verification_override',
  'second_factor_enrol', 'second_factor_remove', 'second_factor_reset', 'recovery_codes_renew'];
const named = (prefix, v) => (v && has(`${prefix}.${v}`) ? t(`${prefix}.${v}`) : v || '');

// Who acted, in words: the service itself, the console, or nobody signed in.
const WHO = { system: 'audit.system', console: 'audit.console', '-': 'audit.anonymous', '(unknown user)': 'audit.unknownUser' };
const who = (v) => (WHO[v] ? t(WHO[v]) : v || '');

// The audit's details are short English phrases from the service; the known
// ones are shown in the page's language, anything else as stored.
const FIELDS = { display_name: 'users.displayName', email: 'users.email', alternate_email: 'users.altEmail', role: 'users.role', locale: 'users.locale' };
const WHOLE = { 'unknown username': 'adet.unknownUsername', 'temporary password expired': 'adet.tempExpired', rehashed: 'adet.rehashed',
  'code sent to the alternate address': 'adet.codeSent', 'hourly code limit reached': 'adet.codeLimit', 'break-glass console reset': 'adet.breakGlass' };
const PARTS = [
  [/^delivery (password|link)$/, (m) => t(`adet.delivery.${m[1]}`)],
  [/^mode (auto|manual)$/, (m) => t(`adet.mode.${m[1]}`)],
  [/^must change$/, () => t('adet.mustChange')],
  [/^(\d+) notification\(s\)$/, (m) => tn('adet.notifications', Number(m[1]))],
  [/^(password|link) mailed to nobody$/, (m) => t(`adet.nobody.${m[1]}`)],
  [/^(password|link) queued for (.+)$/, (m) => t(`adet.secretQueued.${m[1]}`, { to: m[2].split(' ').join(', ') })],
  [/^notice queued for (.+)$/, (m) => t('adet.noticeQueued', { to: m[1].split(' ').join(', ') })],
  [/^(password|link) to (.+)$/, (m) => t(`adet.secretTo.${m[1]}`, { to: m[2].split(' ').join(', ') })],
  [/^notice to (.+)$/, (m) => t('adet.noticeTo', { to: m[1].split(' ').join(', ') })],
  [/^role (\w+)$/, (m) => t('adet.role', { role: named('role', m[1]) })],
  [/^(enabled|disabled)$/, (m) => t(`adet.${m[1]}`)],
  [/^caller not verified$/, () => t('adet.callerNotVerified')],
  [/^caller verified by code to (.+)$/, (m) => t('adet.callerVerifiedCode', { to: m[1] })],
  [/^caller verified by the code of their authenticator app$/, () => t('adet.callerVerifiedApp')],
  [/^(?:override: |reason: )([\s\S]+)$/, (m) => t('adet.callerOverride', { reason: m[1] })],
];
const part = (p) => { const hit = PARTS.find(([re]) => re.test(p)); return hit ? hit[1](p.match(hit[0])) : null; };
function detailText(e) {
  const d = e.detail || '';
  if (!d) return '';
  if (WHOLE[d]) return t(WHOLE[d]);
  // A message's final outcome: the relay's own words stay as they came.
  const n = d.match(/^notification (\d+) \((\w+)\), attempts (\d+): ([\s\S]*)$/);
  if (n) return tn('adet.message', Number(n[3]), { id: n[1], kind: named('kind', n[2]), answer: n[4] });
  const sup = d.match(/^notification (\d+) \((\w+)\) superseded by a newer reset of (.+)$/);
  if (sup) return t('adet.superseded', { id: sup[1], kind: named('kind', sup[2]), name: sup[3] });
  if (e.action === 'user_update') return d.split(',').map((x) => (FIELDS[x] ? t(FIELDS[x]) : part(x) ?? x)).join(' · ');
  const out = d.split(', ').map(part);
  return out.every((x) => x !== null) ? out.join(' · ') : d;
}

export async function audit(view) {
  const f = { actor: '', target: '', recipient: '', action: '', since: '', offset: 0, limit: 50 };
  const err = errorBox();
  const actor = field({ label: t('audit.actor'), name: 'actor', autocomplete: 'off', attrs: { autocapitalize: 'none' } });
  const target = field({ label: t('audit.targetFilter'), name: 'target', autocomplete: 'off', attrs: { autocapitalize: 'none' } });
  const recipient = field({ label: t('audit.recipientFilter'), name: 'recipient', autocomplete: 'off', hint: t('audit.recipientHint'), attrs: { autocapitalize: 'none', inputmode: 'email', spellcheck: 'false' } });
  const action = select({ label: t('audit.action'), name: 'action', value: '', options: [{ value: '', label: t('audit.allActions') }, ...ACTIONS.map((a) => ({ value: a, label: t(`act.${a}`) }))] });
  const since = field({ label: t('audit.since'), name: 'since', type: 'date' });
  const apply = h('button', { type: 'submit', class: 'btn primary' }, t('audit.apply'));
  const csv = h('a', { class: 'btn', download: 'resetd-audit.csv', 'aria-describedby': 'csv-hint' }, t('audit.csv'));
  const form = h('form', { class: 'filters', novalidate: true }, actor, target, recipient, action, since, h('div', { class: 'actions' }, apply, csv));
  const tbody = h('tbody');
  const count = h('p', { class: 'count', role: 'status' });
  const pager = h('div', { class: 'pager' });
  // Both names match in part ("adm" finds admin), as people type them.
  const filters = () => ({ actor: f.actor, target: f.target, recipient: f.recipient, match: f.actor || f.target ? 'partial' : '', action: f.action, since: f.since ? dayStart(f.since) : '' });
  const load = async () => {
    csv.href = `/api/v1/audit${qs({ ...filters(), format: 'csv' })}`;
    say(err, '');
    try {
      const r = await api('GET', `/audit${qs({ ...filters(), offset: f.offset, limit: f.limit })}`);
      const list = r.entries || [];
      const total = r.total ?? list.length;
      count.textContent = tn('audit.count', total);
      tbody.replaceChildren(...list.map((e) => h('tr', {},
        h('td', {}, date(e.at)),
        h('td', { class: 'nowrap' }, who(e.actor)),
        h('td', {}, named('act', e.action)),
        h('td', {}, h('span', { class: 'email' }, wbr(who(e.target)))),
        h('td', {}, named('outcome', e.outcome)),
        h('td', { class: 'nowrap' }, e.client),
        h('td', { class: 'wrap detail' }, detailText(e)))));
      if (!list.length) tbody.append(h('tr', {}, h('td', { colspan: 7 }, t('audit.none'))));
      const pages = Math.max(1, Math.ceil(total / f.limit));
      pager.replaceChildren(
        h('button', { type: 'button', class: 'btn', disabled: f.offset === 0, onclick: () => { f.offset = Math.max(0, f.offset - f.limit); load(); } }, t('common.previous')),
        h('span', {}, t('common.page', { page: num(f.offset / f.limit + 1), pages: num(pages) })),
        h('button', { type: 'button', class: 'btn', disabled: f.offset + f.limit >= total, onclick: () => { f.offset += f.limit; load(); } }, t('common.next')));
    } catch (e) { say(err, errText(e)); }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(f, { actor: actor.input.value.trim().toLowerCase(), target: target.input.value.trim().toLowerCase(), recipient: recipient.input.value.trim(), action: action.input.value, since: since.input.value, offset: 0 });
    busy(apply, load);
  });
  await load();
  view.append(h('h1', { tabindex: '-1' }, t('audit.title')), err, form, h('p', { class: 'hint', id: 'csv-hint' }, t('audit.csvHint')), count,
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid audit' }, h('caption', { class: 'sr-only' }, t('audit.title')),
      h('thead', {}, h('tr', {}, ['audit.when', 'audit.actor', 'audit.action', 'audit.target', 'audit.outcome', 'audit.from', 'audit.detail'].map((k) => h('th', { scope: 'col' }, t(k))))), tbody)), pager);
}
