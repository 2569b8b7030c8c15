// Notifications (outbox with states and retry), Settings (relay with test
// send, password policy, expiration, self-service) and Audit (filters,
// paging, CSV export).
import { h } from './dom.js';
import { t, num, date, has } from './i18n.js';
import { api, qs } from './api.js';
import { field, select, checkbox, button, errorBox, statusBox, say, showError, clearErrors, busy, errText, stateBadge, announce } from './ui.js';

const STATES = ['queued', 'sending', 'sent', 'failed', 'superseded', 'expired'];

export async function notifications(view, ctx) {
  const err = errorBox();
  const state = select({ label: t('notif.filter'), name: 'state', value: '', options: [{ value: '', label: t('notif.all') }, ...STATES.map((s) => ({ value: s, label: t(`state.${s}`) }))] });
  const tbody = h('tbody');
  const count = h('p', { class: 'count', role: 'status' });
  let timer = null;
  let seen = new Map();
  const load = async (background) => {
    clearTimeout(timer);
    try {
      const r = await api('GET', `/notifications${qs({ state: state.input.value })}`, undefined, { background });
      const list = Array.isArray(r) ? r : r.notifications || [];
      for (const n of list) {
        const was = seen.get(n.id);
        if (was && was !== n.state) announce(t('notif.changed', { to: n.recipient, state: t(`state.${n.state}`) }));
        seen.set(n.id, n.state);
      }
      count.textContent = t('notif.count', { n: num(r.total ?? list.length) });
      tbody.replaceChildren(...list.map((n) => h('tr', {},
        h('td', {}, date(n.created_at)),
        h('td', { class: 'wrap' }, n.recipient),
        h('td', {}, has(`kind.${n.kind}`) ? t(`kind.${n.kind}`) : n.kind),
        h('td', {}, stateBadge(n.state)),
        h('td', {}, num(n.attempts || 0)),
        h('td', { class: 'wrap' }, n.last_answer || ''),
        h('td', {}, date(n.sent_at)),
        h('td', {}, (n.state === 'failed' || (n.state === 'queued' && n.attempts > 0)) && button(t('notif.retry'), async () => {
          try { await api('POST', `/notifications/${n.id}/retry`, {}); announce(t('notif.retrying', { to: n.recipient })); load(); } catch (e) { say(err, errText(e)); }
        })))));
      if (!list.length) tbody.append(h('tr', {}, h('td', { colspan: 8 }, t('notif.none'))));
      if (list.some((n) => n.state === 'queued' || n.state === 'sending')) timer = setTimeout(() => load(true), 5000);
    } catch (e) { say(err, errText(e)); }
  };
  ctx.onLeave(() => { clearTimeout(timer); timer = -1; });
  state.input.addEventListener('change', () => load());
  await load(true);
  view.append(h('h1', { tabindex: '-1' }, t('notif.pageTitle')), h('p', {}, t('notif.intro')), err,
    h('div', { class: 'filters' }, state, button(t('common.refresh'), () => load())), count,
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid' }, h('caption', { class: 'sr-only' }, t('notif.pageTitle')),
      h('thead', {}, h('tr', {}, ['notif.created', 'notif.recipient', 'notif.kind', 'notif.state', 'notif.attempts', 'notif.answer', 'notif.sentAt', 'notif.action']
        .map((k) => h('th', { scope: 'col' }, t(k))))), tbody)));
}

// One settings section: GET on open, PUT of the whole object (unknown keys
// kept as they came) on save. fields: [key, kind, extra]
async function section(path, titleKey, introKey, fields, extra) {
  const err = errorBox();
  const ok = statusBox();
  const sec = h('section', { class: 'card', 'aria-labelledby': `h-${titleKey}` }, h('h2', { id: `h-${titleKey}` }, t(titleKey)), introKey && h('p', { class: 'hint' }, t(introKey)));
  let data;
  try {
    data = await api('GET', path);
  } catch (e) {
    sec.append(h('p', { class: 'alert error' }, e.status === 404 ? t('settings.notAvailable') : errText(e)));
    return sec;
  }
  const inputs = {};
  const form = h('form', { novalidate: true }, err, ok);
  const grid = h('div', { class: 'cols' });
  for (const [key, kind, o = {}] of fields) {
    let w;
    const label = t(`set.${key}`);
    const hint = has(`set.${key}.hint`) ? t(`set.${key}.hint`) : undefined;
    if (kind === 'bool') w = checkbox({ label, name: key, checked: !!data[key], hint });
    else if (kind === 'choice') w = select({ label, name: key, value: String(data[key] ?? o.choices[0]), hint, options: o.choices.map((c) => ({ value: c, label: t(`set.${key}.${c}`) })) });
    else if (kind === 'list') w = field({ label, name: key, multiline: true, value: (data[key] || []).join('\n'), hint });
    else if (kind === 'secret') w = field({ label, name: key, type: 'password', autocomplete: 'new-password', hint: data[`${key}_set`] ? t('set.secretKept') : t('set.secretEmpty') });
    else w = field({ label, name: key, type: kind === 'int' ? 'number' : 'text', value: data[key] ?? '', hint, attrs: kind === 'int' ? { min: o.min, max: o.max, inputmode: 'numeric' } : {} });
    inputs[key] = w;
    if (o.show) w.dataset.show = o.show;
    grid.append(w);
  }
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('common.save'));
  form.append(grid, h('div', { class: 'actions' }, submit));
  const sync = () => {
    const kind = inputs.kind?.input.value;
    const never = inputs.never_expires?.input.checked;
    for (const w of Object.values(inputs)) {
      const s = w.dataset.show;
      if (!s) continue;
      w.hidden = s === 'finite' ? never : !s.split(' ').includes(kind);
    }
  };
  form.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    say(ok, '');
    const body = { ...data };
    for (const k of Object.keys(body)) if (k.endsWith('_set')) delete body[k];
    for (const [key, kind] of fields) {
      const i = inputs[key].input;
      if (kind === 'bool') body[key] = i.checked;
      else if (kind === 'int') body[key] = Number(i.value);
      else if (kind === 'list') body[key] = i.value.split('\n').map((s) => s.trim()).filter(Boolean);
      else if (kind === 'secret') { if (i.value) body[key] = i.value; else delete body[key]; }
      else body[key] = i.value.trim();
    }
    busy(submit, async () => {
      try {
        const r = await api('PUT', path, body);
        if (r && typeof r === 'object' && !Array.isArray(r)) data = r;
        for (const [key, kind] of fields) if (kind === 'secret') inputs[key].input.value = '';
        say(ok, t('settings.saved'));
      } catch (e) { showError(form, err, e); }
    });
  });
  sec.append(form);
  if (extra) sec.append(extra());
  return sec;
}

function relayTest() {
  const to = field({ label: t('set.testTo'), name: 'to', type: 'email', autocomplete: 'email' });
  const answer = h('div', { class: 'answer', role: 'status' });
  const send = h('button', { type: 'submit', class: 'btn' }, t('set.testSend'));
  const err = errorBox();
  const form = h('form', { novalidate: true, class: 'test' }, h('h3', {}, t('set.testTitle')), h('p', { class: 'hint' }, t('set.testIntro')), err, to, h('div', { class: 'actions' }, send), answer);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    say(err, '');
    answer.replaceChildren();
    busy(send, async () => {
      try {
        const r = await api('POST', '/settings/relay/test', { to: to.input.value.trim() });
        answer.className = `answer ${r.ok ? 'ok' : 'bad'}`;
        answer.replaceChildren(h('p', {}, r.ok ? t('set.testOk') : t('set.testFailed')),
          h('p', {}, t('set.testAnswer')), h('pre', {}, r.answer || ''));
      } catch (e) { showError(form, err, e); }
    });
  });
  return form;
}

export async function settings(view) {
  const secs = await Promise.all([
    section('/settings/relay', 'settings.relay', 'settings.relayIntro', [
      ['kind', 'choice', { choices: ['file', 'smtp', 'webhook'] }],
      ['host', 'text', { show: 'smtp' }], ['port', 'int', { min: 1, max: 65535, show: 'smtp' }],
      ['security', 'choice', { choices: ['none', 'starttls', 'tls'], show: 'smtp' }],
      ['username', 'text', { show: 'smtp' }], ['password', 'secret', { show: 'smtp' }],
      ['from', 'text', { show: 'smtp webhook file' }], ['ca_file', 'text', { show: 'smtp webhook' }],
      ['timeout_s', 'int', { min: 1, max: 300, show: 'smtp webhook' }],
      ['url', 'text', { show: 'webhook' }], ['secret', 'secret', { show: 'webhook' }]], relayTest),
    section('/settings/password-policy', 'settings.policy', 'settings.policyIntro', [
      ['min_length', 'int', { min: 8, max: 64 }], ['min_strength_bits', 'int', { min: 0, max: 80 }], ['banned_words', 'list']]),
    section('/settings/expiration', 'settings.expiration', 'settings.expirationIntro', [
      ['never_expires', 'bool'], ['days', 'int', { min: 14, max: 730, show: 'finite' }], ['reminder_days', 'int', { min: 1, max: 30, show: 'finite' }]]),
    section('/settings/self-service', 'settings.selfService', 'settings.selfServiceIntro', [['enabled', 'bool']]),
  ]);
  view.append(h('h1', { tabindex: '-1' }, t('settings.title')), ...secs);
}

export async function audit(view) {
  const f = { actor: '', action: '', since: '', offset: 0, limit: 50 };
  const err = errorBox();
  const actor = field({ label: t('audit.actor'), name: 'actor', autocomplete: 'off' });
  const action = field({ label: t('audit.action'), name: 'action', autocomplete: 'off' });
  const since = field({ label: t('audit.since'), name: 'since', type: 'date' });
  const apply = h('button', { type: 'submit', class: 'btn primary' }, t('audit.apply'));
  const csv = h('a', { class: 'btn', download: 'audit.csv' }, t('audit.csv'));
  const form = h('form', { class: 'filters', novalidate: true }, actor, action, since, h('div', { class: 'actions' }, apply, csv));
  const tbody = h('tbody');
  const count = h('p', { class: 'count', role: 'status' });
  const pager = h('div', { class: 'pager' });
  const filters = () => ({ actor: f.actor, action: f.action, since: f.since ? new Date(`${f.since}T00:00:00`).toISOString().replace('.000', '') : '' });
  const load = async () => {
    csv.href = `/api/v1/audit${qs({ ...filters(), format: 'csv' })}`;
    try {
      const r = await api('GET', `/audit${qs({ ...filters(), offset: f.offset, limit: f.limit })}`);
      const list = Array.isArray(r) ? r : r.entries || r.events || r.audit || r.items || [];
      const total = r.total ?? list.length;
      count.textContent = t('audit.count', { n: num(total) });
      tbody.replaceChildren(...list.map((e) => h('tr', {},
        h('td', {}, date(e.at || e.time || e.created_at || e.ts)),
        h('td', { class: 'wrap' }, e.actor ?? e.actor_username ?? ''),
        h('td', { class: 'wrap' }, e.action || ''),
        h('td', { class: 'wrap' }, e.target ?? e.target_username ?? ''),
        h('td', { class: 'wrap' }, e.outcome || ''),
        h('td', { class: 'wrap' }, e.client || e.ip || e.address || e.from || ''))));
      if (!list.length) tbody.append(h('tr', {}, h('td', { colspan: 6 }, t('audit.none'))));
      const pages = Math.max(1, Math.ceil(total / f.limit));
      pager.replaceChildren(
        h('button', { type: 'button', class: 'btn', disabled: f.offset === 0, onclick: () => { f.offset = Math.max(0, f.offset - f.limit); load(); } }, t('common.previous')),
        h('span', {}, t('common.page', { page: num(f.offset / f.limit + 1), pages: num(pages) })),
        h('button', { type: 'button', class: 'btn', disabled: f.offset + f.limit >= total, onclick: () => { f.offset += f.limit; load(); } }, t('common.next')));
    } catch (e) { say(err, e.status === 404 ? t('audit.unavailable') : errText(e)); }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(f, { actor: actor.input.value.trim(), action: action.input.value.trim(), since: since.input.value, offset: 0 });
    busy(apply, load);
  });
  await load();
  view.append(h('h1', { tabindex: '-1' }, t('audit.title')), err, form, count,
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid' }, h('caption', { class: 'sr-only' }, t('audit.title')),
      h('thead', {}, h('tr', {}, ['audit.when', 'audit.actor', 'audit.action', 'audit.target', 'audit.outcome', 'audit.from'].map((k) => h('th', { scope: 'col' }, t(k))))), tbody)), pager);
}
