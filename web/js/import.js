// Users → Add from a CSV file: the template, the file, the welcome mail's
// delivery, then every row checked by the server before anything is created
// (row-by-row errors), or the users added with their welcome mails' state.
import { h } from './dom.js';
import { t, tn, has, num } from './i18n.js';
import { api } from './api.js';
import { radios, errorBox, statusBox, say, busy, errText, announce, liveNotifications } from './ui.js';

const COLUMN_LABEL = { username: 'users.username', display_name: 'users.displayName', email: 'users.email', alternate_email: 'users.altEmail', locale: 'users.locale', role: 'users.role' };
const MAX_BYTES = 60 * 1024;

// One row error in the viewer's language; the server's English text when no
// key matches (the message keeps names and row numbers).
function rowProblem(e) {
  if (has(`csv.err.${e.code}`)) return t(`csv.err.${e.code}`, { field: e.field || '' });
  if (has(`err.${e.code}`)) return t(`err.${e.code}`);
  return e.message;
}
const columnName = (f) => (f ? (COLUMN_LABEL[f] ? `${t(COLUMN_LABEL[f])} (${f})` : f) : '—');

function errorTable(rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid csv-errors' },
    h('caption', {}, t('csv.errorsCaption')),
    h('thead', {}, h('tr', {}, ['csv.row', 'csv.column', 'csv.problem'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, rows.map((e) => h('tr', {}, h('td', {}, num(e.row)), h('td', {}, columnName(e.field)), h('td', { class: 'wrap' }, rowProblem(e)))))));
}

export async function importUsers(view, ctx) {
  const err = errorBox();
  const msg = statusBox();
  const out = h('div');
  const fileId = 'csv-file';
  const file = h('input', { type: 'file', id: fileId, name: 'csv', accept: '.csv,text/csv', 'aria-describedby': 'csv-file-hint' });
  const linkOk = !!ctx.app.session.link_delivery;
  const delivery = radios({
    legend: t('csv.welcomeLegend'), name: 'delivery', value: linkOk ? 'link' : 'password',
    options: [
      linkOk && { value: 'link', label: t('reset.deliverLink'), hint: t('csv.linkHint') },
      { value: 'password', label: t('reset.deliverPassword'), hint: t('csv.passwordHint') },
    ].filter(Boolean),
  });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('csv.submit'));
  const form = h('form', { novalidate: true },
    h('p', {}, t('csv.intro', { n: num(100) })),
    h('p', {}, h('a', { class: 'btn', href: '/api/v1/users/import/template', download: 'resetd-users-template.csv' }, t('csv.template'))),
    h('div', { class: 'field' }, h('label', { for: fileId }, t('csv.file')),
      h('p', { class: 'hint', id: 'csv-file-hint' }, t('csv.fileHint')), file),
    delivery,
    h('div', { class: 'actions' }, submit, h('a', { href: '#/users', class: 'btn link' }, t('common.cancel'))));
  let live = null;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    say(err, ''); say(msg, '');
    if (live) live.stop();
    out.replaceChildren();
    const f = file.files && file.files[0];
    if (!f) { say(err, t('csv.noFile')); file.setAttribute('aria-invalid', 'true'); file.focus(); return; }
    file.removeAttribute('aria-invalid');
    if (f.size > MAX_BYTES) { say(err, t('csv.err.csv_too_large')); return; }
    busy(submit, async () => {
      try {
        // Fatal decoding: a file in a legacy code page (Excel's plain "CSV"
        // in tr-TR is Windows-1254) is refused, never imported with U+FFFD in names.
        let text;
        try { text = new TextDecoder('utf-8', { fatal: true }).decode(await f.arrayBuffer()); } catch {
          say(err, t('csv.err.invalid_utf8'));
          err.setAttribute('tabindex', '-1');
          err.focus();
          return;
        }
        const r = await api('POST', '/users/import', { csv: text, delivery: delivery.value() });
        const ids = (r.users || []).map((x) => x.user.id);
        const notes = (r.users || []).flatMap((x) => x.notifications || []);
        say(msg, tn('csv.done', r.created));
        announce(tn('csv.done', r.created));
        live = liveNotifications(notes, ids.length <= 10 ? ids : null);
        out.replaceChildren(h('h2', { tabindex: '-1' }, t('csv.welcomeTitle')), live.el,
          h('div', { class: 'actions' }, h('a', { href: '#/users', class: 'btn primary' }, t('csv.toList'))));
        form.hidden = true;
        out.querySelector('h2').focus();
      } catch (e) {
        if (e.code === 'import_rows_invalid' && e.rows) {
          const bad = new Set(e.rows.map((x) => x.row)).size;
          say(err, tn('csv.rowsInvalid', bad));
          out.replaceChildren(errorTable(e.rows));
        } else {
          say(err, has(`csv.err.${e.code}`) ? t(`csv.err.${e.code}`, { field: e.field || '' }) : errText(e));
        }
        err.setAttribute('tabindex', '-1');
        err.focus();
      }
    });
  });
  // The row errors right under their alert, above the form: in sight at 1024×600.
  view.append(h('h1', { tabindex: '-1' }, t('csv.title')), msg, err, out, form);
  ctx.focus = file;
}

// "Export users": the list's search as CSV, downloaded with the session cookie.
export function exportLink(q) {
  const p = new URLSearchParams();
  if (q && q.trim()) p.set('q', q.trim());
  const s = p.toString();
  return h('a', { class: 'btn', href: `/api/v1/users/export${s ? `?${s}` : ''}`, download: 'resetd-users.csv' }, t('csv.export'));
}
