// Notifications (outbox with states and retry), Settings (relay with test
// send, password policy, expiration, self-service, retention) and My
// sessions. The Audit page is audit.js.
import { h, email, uid } from './dom.js';
import { t, tn, num, date, has } from './i18n.js';
import { api, qs } from './api.js';
import { field, select, checkbox, button, errorBox, statusBox, say, showError, clearErrors, fieldError, busy, errText, stateBadge, announce, relayAnswer } from './ui.js';
import { ROLES } from './users.js';
import { rolePolicies } from './settings_policies.js';

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
      count.textContent = tn('notif.count', r.total ?? list.length);
      tbody.replaceChildren(...list.map((n) => h('tr', {},
        h('td', {}, date(n.created_at)),
        h('td', { class: 'nowrap' }, n.username || ''),
        h('td', {}, email(n.recipient)),
        h('td', {}, has(`kind.${n.kind}`) ? t(`kind.${n.kind}`) : n.kind),
        h('td', {}, stateBadge(n.state)),
        h('td', {}, num(n.attempts || 0)),
        h('td', { class: 'wrap' }, relayAnswer(n)),
        h('td', {}, date(n.sent_at)),
        h('td', {}, (n.state === 'failed' || (n.state === 'queued' && n.attempts > 0)) && button(t('notif.retry'), async () => {
          try { await api('POST', `/notifications/${n.id}/retry`, {}); announce(t('notif.retrying', { to: n.recipient })); load(); } catch (e) { say(err, errText(e)); }
        })))));
      if (!list.length) tbody.append(h('tr', {}, h('td', { colspan: 9 }, t('notif.none'))));
      if (list.some((n) => n.state === 'queued' || n.state === 'sending')) timer = setTimeout(() => load(true), 5000);
    } catch (e) { say(err, errText(e)); }
  };
  ctx.onLeave(() => { clearTimeout(timer); timer = -1; });
  state.input.addEventListener('change', () => load());
  await load(true);
  view.append(h('h1', { tabindex: '-1' }, t('notif.pageTitle')), h('p', {}, t('notif.intro')), err,
    h('div', { class: 'filters' }, state, button(t('common.refresh'), () => load())), count,
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid' }, h('caption', { class: 'sr-only' }, t('notif.pageTitle')),
      h('thead', {}, h('tr', {}, ['notif.created', 'notif.user', 'notif.recipient', 'notif.kind', 'notif.state', 'notif.attempts', 'notif.answer', 'notif.sentAt', 'notif.action']
        .map((k) => h('th', { scope: 'col' }, t(k))))), tbody)));
}

// One settings section: GET on open; on save, checks the numbers here, then
// PUTs the fields (the API merges; an empty secret keeps the stored one) and
// shows the API's field errors next to their field. fields: [key, kind, extra]
async function section(path, titleKey, intro, fields, extra) {
  const err = errorBox();
  const ok = statusBox();
  const sec = h('section', { class: 'card', 'aria-labelledby': `h-${titleKey}` }, h('h2', { id: `h-${titleKey}` }, t(titleKey)));
  let data;
  try {
    data = await api('GET', path);
  } catch (e) {
    sec.append(h('p', { class: 'alert error' }, errText(e)));
    return sec;
  }
  if (intro) sec.append(h('p', { class: 'hint' }, typeof intro === 'function' ? intro(data) : t(intro)));
  const inputs = {};
  const form = h('form', { novalidate: true }, err, ok);
  const grid = h('div', { class: 'cols' });
  const secretHint = (key) => (data[`${key}_set`] ? t('set.secretKept') : t('set.secretEmpty'));
  for (const [key, kind, o = {}] of fields) {
    let w;
    const label = t(o.label || `set.${key}`);
    const hint = has(`set.${key}.hint`) ? t(`set.${key}.hint`) : undefined;
    if (kind === 'bool') w = checkbox({ label, name: key, checked: !!data[key], hint });
    else if (kind === 'choice') w = select({ label, name: key, value: String(data[key] ?? o.choices[0]), hint, options: o.choices.map((c) => ({ value: c, label: t(`set.${key}.${c}`) })) });
    else if (kind === 'list') w = field({ label, name: key, multiline: true, value: (data[key] || []).join('\n'), hint });
    else if (kind === 'secret') w = field({ label, name: key, type: 'password', autocomplete: 'new-password', hint: secretHint(key) });
    else if (kind === 'roles') w = rolesEditor(label, data[key] || {});
    else w = field({ label, name: key, type: kind === 'int' ? 'number' : 'text', value: data[key] ?? '', hint, attrs: kind === 'int' ? { min: o.min, max: o.max, inputmode: 'numeric' } : {} });
    inputs[key] = w;
    if (o.show) w.dataset.show = o.show;
    grid.append(w);
  }
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('common.save'));
  form.append(grid);
  const shown = (key) => !inputs[key].hidden;
  const sync = () => {
    const kind = inputs.kind?.input.value;
    const never = inputs.never_expires?.input.checked;
    for (const w of Object.values(inputs)) {
      const s = w.dataset.show;
      if (s) w.hidden = s === 'finite' ? never : !s.split(' ').includes(kind);
    }
  };
  form.addEventListener('change', sync);
  sync();
  // Changes on screen are not in effect (nor tested) until saved: say so.
  const unsaved = h('p', { class: 'unsaved', role: 'status' });
  const state = { dirty: false };
  const setDirty = (d) => { state.dirty = d; unsaved.textContent = d ? t('set.unsaved') : ''; unsaved.hidden = !d; };
  setDirty(false);
  form.addEventListener('input', () => setDirty(true));
  form.addEventListener('change', () => setDirty(true));
  const bad = (key, text) => {
    const i = inputs[key].input;
    say(err, t('err.checkField'));
    fieldError(i, text);
    i.focus();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    say(err, '');
    say(ok, '');
    const body = {};
    for (const [key, kind, o = {}] of fields) {
      const i = inputs[key].input;
      if (kind === 'bool') body[key] = i.checked;
      else if (kind === 'int') {
        if (!shown(key)) continue;
        const n = Number(i.value);
        if (i.value.trim() === '' || !Number.isInteger(n) || n < o.min || n > o.max) return bad(key, t('err.range', { min: num(o.min), max: num(o.max) }));
        body[key] = n;
      } else if (kind === 'list') body[key] = i.value.split('\n').map((s) => s.trim()).filter(Boolean);
      else if (kind === 'secret') { if (i.value) body[key] = i.value; }
      else if (kind === 'roles') {
        if (!shown(key)) continue;
        const r = inputs[key].collect();
        if (r.bad) { say(err, t('err.checkField')); fieldError(r.bad, r.text); r.bad.focus(); return; }
        body[key] = r.roles;
      } else body[key] = i.value.trim();
    }
    if (inputs.reminder_days && !body.never_expires && body.reminder_days >= body.days) return bad('reminder_days', t('err.reminder_before'));
    save(body);
  });
  // Directory: Save tests first. A failed test is said in words next to
  // the field at fault, and saving anyway is the admin's explicit choice.
  const anyway = h('div', { class: 'alert error', hidden: true });
  const untested = (e, body) => {
    const cat = has(`dir.cat.${e.category}`) ? `dir.cat.${e.category}` : 'dir.cat.other';
    say(err, t('dir.saveTestFailed'));
    const i = e.field && inputs[e.field];
    if (i && !i.hidden) fieldError(i.input, t(cat));
    const again = button(t('dir.saveAnyway'), () => { anyway.hidden = true; save({ ...body, save_untested: true }); });
    anyway.replaceChildren(h('p', {}, t(cat)), h('p', { class: 'hint' }, t('dir.saveAnywayHint')), h('div', { class: 'actions' }, again));
    anyway.hidden = false;
    (i && !i.hidden ? i.input : again).focus();
  };
  const badConfig = (e) => {
    const key = e.field.slice('directory.'.length);
    const i = inputs[key];
    if (!i || i.hidden || !i.input) return false;
    say(err, t('err.checkField'));
    fieldError(i.input, has(`dir.bad.${key}`) ? t(`dir.bad.${key}`) : t('err.invalid_setting'));
    i.input.focus();
    return true;
  };
  const save = (body) => {
    clearErrors(form);
    say(err, '');
    anyway.hidden = true;
    busy(submit, async () => {
      try {
        const r = await api('PUT', path, body);
        if (r && typeof r === 'object') data = r;
        for (const [key, kind] of fields) {
          if (kind !== 'secret') continue;
          inputs[key].input.value = '';
          inputs[key].querySelector('.hint').textContent = secretHint(key);
        }
        setDirty(false);
        say(ok, t('settings.saved'));
        announce(t('settings.saved'));
      } catch (e) {
        if (e.code === 'directory_test_failed') return untested(e, body);
        if (e.code === 'invalid_config' && e.field && e.field.startsWith('directory.') && !e.field.startsWith('directory.roles') && badConfig(e)) return;
        showError(form, err, e);
        if (inputs.roles && e.field && e.field.startsWith('directory.roles')) inputs.roles.markError(e.field, errText(e), err);
        const i = e.field && inputs[e.field];
        if (i && e.code === 'invalid_setting') {
          say(err, t('err.checkField'));
          fieldError(i.input, has(`seterr.${e.field}`) ? t(`seterr.${e.field}`) : t('err.invalid_setting'));
        }
      }
    });
  };
  form.append(anyway, h('div', { class: 'actions' }, submit, unsaved));
  sec.append(form);
  if (extra) sec.append(extra(state));
  return sec;
}

// The test uses the values on screen, saved or not, as Directory's Test
// connection does; the server applies Save's rule to them (a changed
// destination gets the stored password only if it is typed again).
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
    const addr = to.input.value.trim();
    if (!/^[^\s@,;<>]+@[^\s@,;<>]+$/.test(addr)) { fieldError(to.input, t('err.invalid_email')); to.input.focus(); return; }
    busy(send, async () => {
      try {
        const body = {};
        const sec = form.closest('section');
        for (const i of sec ? sec.querySelectorAll('form:not(.test) [name]') : []) {
          if (i.type === 'password') { if (i.value) body[i.name] = i.value; } else if (i.type === 'number') { if (i.value !== '') body[i.name] = Number(i.value); } else body[i.name] = i.value.trim();
        }
        const r = await api('POST', '/settings/relay/test', { ...body, to: addr });
        answer.className = `answer ${r.ok ? 'ok' : 'bad'}`;
        answer.replaceChildren(h('p', {}, r.ok ? t('set.testOk') : t('set.testFailed')),
          h('p', {}, t('set.testAnswer')), h('pre', { class: 'relay-answer' }, r.answer || ''));
      } catch (e) { showError(form, err, e); }
    });
  });
  return form;
}

// Forward auth and PAM: set in the configuration file, shown read-only.
async function integrations() {
  const sec = h('section', { class: 'card', 'aria-labelledby': 'h-settings.integrations' },
    h('h2', { id: 'h-settings.integrations' }, t('settings.integrations')));
  let d;
  try {
    d = await api('GET', '/settings/integrations');
  } catch (e) {
    sec.append(h('p', { class: 'alert error' }, errText(e)));
    return sec;
  }
  const onOff = (b) => h('strong', {}, b ? t('int.on') : t('int.off'));
  const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
  const fa = d.forward_auth || {};
  const pam = d.pam || {};
  const faRows = [...row(t('int.forwardAuth'), onOff(fa.enabled))];
  if (fa.enabled) {
    faRows.push(...row(t('int.origins'), (fa.allowed_redirect_origins || []).join(', ') || t('int.none')));
    faRows.push(...row(t('int.cookieDomain'), fa.cookie_domain || t('int.hostOnly')));
    faRows.push(...row(t('int.rules'), (fa.rules || []).length
      ? h('ul', {}, ...fa.rules.map((r) => h('li', {}, `${r.host}: ${r.roles.map((x) => t(`role.${x}`)).join(', ')}`)))
      : t('int.noRules')));
  }
  const pamRows = [...row(t('int.pam'), onOff(pam.enabled))];
  if (pam.enabled) {
    pamRows.push(...row(t('int.socket'), h('code', {}, pam.socket)));
    pamRows.push(...row(t('int.group'), pam.group || t('int.ownGroup')));
  }
  sec.append(h('p', { class: 'hint' }, t('settings.integrationsIntro')), h('dl', { class: 'facts' }, ...faRows, ...pamRows));
  return sec;
}

// [directory.roles]: one row per group (its DN, the role its members get),
// rows added and removed here; saved with the section as {dn: role}.
function rolesEditor(label, roles) {
  const hintId = uid('roles-hint');
  const rows = h('div', { class: 'map-rows' });
  const none = h('p', { class: 'hint' }, t('dir.rolesNone'));
  const fs = h('fieldset', { class: 'field map', 'aria-describedby': hintId }, h('legend', {}, label),
    h('p', { class: 'hint', id: hintId }, t('dir.rolesHint')), none, rows);
  const changed = () => fs.dispatchEvent(new Event('change', { bubbles: true }));
  const renumber = () => {
    [...rows.children].forEach((row, k) => {
      const n = num(k + 1);
      row.dnF.querySelector('label').textContent = t('dir.roleGroup', { n });
      row.roleF.querySelector('label').textContent = t('dir.roleRole', { n });
      row.rm.textContent = t('dir.roleRemove', { n });
    });
    none.hidden = rows.children.length > 0;
  };
  const addRow = (dn = '', role = 'helpdesk_admin', focus = false) => {
    const dnF = field({ label: '', name: undefined, value: dn, attrs: { spellcheck: 'false', 'data-role-group': '' } });
    const roleS = select({ label: '', name: undefined, value: role, options: ROLES.map((r) => ({ value: r, label: t(`role.${r}`) })) });
    const roleErr = `${roleS.input.id}-err`;
    roleS.input.setAttribute('aria-describedby', roleErr);
    roleS.append(h('p', { class: 'field-error', id: roleErr, hidden: true }));
    const row = h('div', { class: 'map-row' }, dnF, roleS);
    row.rm = button('', () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      changed();
      (next ? next.dnF.input : add).focus();
    });
    row.append(h('div', { class: 'field map-remove' }, row.rm));
    row.dnF = dnF;
    row.roleF = roleS;
    rows.append(row);
    renumber();
    if (focus) dnF.input.focus();
  };
  const add = button(t('dir.roleAdd'), () => { addRow('', 'helpdesk_admin', true); changed(); });
  fs.append(h('div', { class: 'actions' }, add));
  for (const [dn, role] of Object.entries(roles)) addRow(dn, role);
  renumber();
  fs.input = add;
  // {roles} or the first row to fix ({bad, text}).
  fs.collect = () => {
    const out = {};
    for (const row of rows.children) {
      const dn = row.dnF.input.value.trim();
      if (!dn) return { bad: row.dnF.input, text: t('dir.roleDnRequired') };
      const key = Object.keys(out).find((k) => k.toLowerCase() === dn.toLowerCase());
      if (key !== undefined) return { bad: row.dnF.input, text: t('dir.roleDuplicate') };
      out[dn] = row.roleF.input.value;
    }
    return { roles: out };
  };
  // The API names the key: directory.roles."<dn>" (its role) or directory.roles (a DN).
  fs.markError = (key, text, box) => {
    const m = /^directory\.roles\."(.*)"$/.exec(key);
    const list = [...rows.children];
    const row = m ? list.find((r) => r.dnF.input.value.trim() === m[1]) : list.find((r) => /[\x00-\x1f]/.test(r.dnF.input.value) || !r.dnF.input.value.trim()) || list[0];
    const input = row ? (m ? row.roleF.input : row.dnF.input) : add;
    say(box, t('err.checkField'));
    fieldError(input, text);
    input.focus();
  };
  return fs;
}

function directoryTest(form0) {
  const answer = h('div', { class: 'answer', role: 'status' });
  const send = h('button', { type: 'submit', class: 'btn' }, t('dir.testSend'));
  const err = errorBox();
  const form = h('form', { novalidate: true, class: 'test' }, h('h3', {}, t('dir.testTitle')), h('p', { class: 'hint' }, t('dir.testIntro')), err, h('div', { class: 'actions' }, send), answer);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    say(err, '');
    answer.replaceChildren();
    // Test what the form above holds, saved or not (the password only if typed).
    const body = {};
    const sec = form.closest('section');
    for (const i of sec ? sec.querySelectorAll('form:not(.test) [name]') : []) {
      if (i.type === 'password') { if (i.value) body[i.name] = i.value; } else if (i.type === 'number') { if (i.value !== '') body[i.name] = Number(i.value); } else if (i.tagName === 'TEXTAREA') body[i.name] = i.value.split('\n').map((s) => s.trim()).filter(Boolean); else body[i.name] = i.value.trim();
    }
    busy(send, async () => {
      try {
        const r = await api('POST', '/settings/directory/test', body);
        answer.className = `answer ${r.ok ? 'ok' : 'bad'}`;
        // A stable category in the page's language; the directory's own text is in the audit log.
        const cat = `dir.cat.${r.category}`;
        answer.replaceChildren(h('p', {}, r.ok ? t('dir.testOk') : t('dir.testFailed')),
          ...(r.ok ? [] : [h('p', {}, has(cat) ? t(cat) : (r.message || t('dir.cat.other')))]),
          // Works, but something to fix there (e.g. ppolicy without pwdMustChange: TRUE).
          ...(r.warning ? [h('p', { class: 'error' }, t(`warn.${r.warning.code}`), ' ', h('span', { lang: 'en' }, r.warning.message))] : []));
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
    section('/settings/directory', 'settings.directory', 'settings.directoryIntro', [
      ['kind', 'choice', { choices: ['none', 'ldap', 'ad'], label: 'dir.kind' }],
      ['url', 'text', { show: 'ldap ad', label: 'dir.url' }],
      ['failover_urls', 'list', { show: 'ldap ad', label: 'dir.failover_urls' }],
      ...['ca_file', 'bind_dn'].map((k) => [k, 'text', { show: 'ldap ad', label: `dir.${k}` }]),
      ['bind_password', 'secret', { show: 'ldap ad', label: 'dir.bind_password' }],
      ...['users_base', 'user_filter', 'username_attribute', 'display_name_attribute', 'email_attribute',
        'alternate_email_attribute', 'locale_attribute'].map((k) => [k, 'text', { show: 'ldap ad', label: `dir.${k}` }]),
      ['timeout_s', 'int', { min: 1, max: 120, show: 'ldap ad', label: 'dir.timeout_s' }],
      ['sync_interval_min', 'int', { min: 1, max: 1440, show: 'ldap ad', label: 'dir.sync_interval_min' }],
      ['roles', 'roles', { show: 'ldap ad', label: 'dir.roles' }]], directoryTest),
    section('/settings/password-policy', 'settings.policy', 'settings.policyIntro', [
      ['min_length', 'int', { min: 8, max: 64 }], ['min_strength_bits', 'int', { min: 0, max: 80 }], ['banned_words', 'list']]),
    section('/settings/expiration', 'settings.expiration', 'settings.expirationIntro', [
      ['never_expires', 'bool'], ['days', 'int', { min: 14, max: 730, show: 'finite' }], ['reminder_days', 'int', { min: 1, max: 30, show: 'finite' }]]),
    section('/settings/self-service', 'settings.selfService', 'settings.selfServiceIntro', [['enabled', 'bool'], ['admins_enabled', 'bool']]),
    section('/settings/retention', 'settings.retention', (d) => t('settings.retentionIntro', { n: num(d.outbox_days ?? 30) }), [
      ['audit_days', 'int', { min: 30, max: 3650 }]]),
    integrations(),
    rolePolicies(),
  ]);
  view.append(h('h1', { tabindex: '-1' }, t('settings.title')), ...secs);
}

// My sessions: every signed-in session of the caller; end one, or all but
// this one.
export async function sessions(view, ctx) {
  const err = errorBox();
  const msg = statusBox();
  const tbody = h('tbody');
  const count = h('p', { class: 'count', role: 'status' });
  const others = h('button', { type: 'button', class: 'btn danger' }, t('sessions.endOthers'));
  const done = (key) => { say(msg, t(key)); announce(t(key)); };
  const end = async (path, key, btn) => {
    say(err, '');
    try { await busy(btn, () => api('DELETE', path)); done(key); await load(); } catch (e) { say(err, errText(e)); }
  };
  others.addEventListener('click', () => end('/sessions?others=true', 'sessions.othersEnded', others));
  const load = async () => {
    const list = (await api('GET', '/sessions')).sessions || [];
    list.sort((a, b) => (b.current - a.current) || String(b.created_at).localeCompare(String(a.created_at)));
    count.textContent = list.length > 1 ? tn('sessions.count', list.length) : t('sessions.onlyThis');
    others.disabled = list.length < 2;
    tbody.replaceChildren(...list.map((s) => {
      const b = !s.current && h('button', { type: 'button', class: 'btn' }, t('sessions.end'), h('span', { class: 'sr-only' }, ` ${s.client} ${date(s.created_at)}`));
      if (b) b.addEventListener('click', () => end(`/sessions/${s.id}`, 'sessions.ended', b));
      return h('tr', { class: s.current ? 'selected' : '' },
        h('td', { class: 'nowrap' }, date(s.created_at)),
        h('td', { class: 'nowrap' }, date(s.expires_at)),
        h('td', { class: 'nowrap' }, s.client),
        h('td', { class: 'wrap agent' }, s.user_agent),
        h('td', {}, s.current ? h('span', { class: 'badge st-sent' }, t('sessions.current')) : b));
    }));
  };
  await load();
  view.append(h('h1', { tabindex: '-1' }, t('sessions.title')), h('p', {}, t('sessions.intro')), msg, err,
    h('div', { class: 'toolbar' }, others, button(t('common.refresh'), () => load().catch((e) => say(err, errText(e))))), count,
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid' }, h('caption', { class: 'sr-only' }, t('sessions.title')),
      h('thead', {}, h('tr', {}, ['sessions.created', 'sessions.expires', 'sessions.client', 'sessions.agent', 'notif.action'].map((k) => h('th', { scope: 'col' }, t(k))))), tbody)));
}
