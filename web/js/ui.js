// Shared widgets: labelled fields, error display, the live password check,
// the notification table with live state, copy and the print slip.
import { h, uid, debounce, email } from './dom.js';
import { t, has, date, num, upper } from './i18n.js';
import { api } from './api.js';

export const announce = (msg) => {
  const live = document.getElementById('live');
  live.textContent = '';
  setTimeout(() => { live.textContent = msg; }, 50);
};

// Codes that share one message.
const SAME = {
  http_401: 'not_signed_in', http_403: 'forbidden', http_404: 'not_found', http_429: 'rate_limited', too_many_attempts: 'rate_limited',
  http_503: 'busy', http_507: 'storage_full', bad_request: 'malformed_json', missing_field: 'required', length_required: 'refused',
  unsupported_encoding: 'refused', unsupported_media_type: 'refused', method_not_allowed: 'refused',
};

// The policy's numbers as the last live check reported them (for messages
// such as "at least 12 characters").
const policy = { min_length: null };

export function errText(err) {
  const code = err && (SAME[err.code] || err.code);
  if (code === 'password_too_short' && policy.min_length) return t('err.password_too_short_n', { n: num(policy.min_length) });
  if (code && has(`err.${code}`)) return t(`err.${code}`, { seconds: err.retryAfter || '' });
  if (err && err.status === 0) return t('err.network');
  return (err && err.message) || t('err.generic');
}

function described(input, ...ids) {
  input.setAttribute('aria-describedby', ids.filter(Boolean).join(' '));
}

// A labelled input with optional hint and its own error line.
export function field({ label, name, type = 'text', value = '', hint, required, autocomplete, attrs = {}, multiline }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  const input = multiline
    ? h('textarea', { id, name, rows: 4, required, ...attrs }, value)
    : h('input', { id, name, type, value: value ?? '', required, autocomplete: autocomplete || 'off', ...attrs });
  if (type === 'email' || type === 'password' || name === 'username') input.setAttribute('spellcheck', 'false');
  described(input, hintId, errId);
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    hint && h('p', { class: 'hint', id: hintId }, hint),
    input,
    h('p', { class: 'field-error', id: errId, hidden: true }));
  wrap.input = input;
  return wrap;
}

export function checkbox({ label, name, checked, hint }) {
  const id = uid(name);
  const input = h('input', { type: 'checkbox', id, name, checked: !!checked });
  const wrap = h('div', { class: 'check' }, input, h('label', { for: id }, label),
    hint && h('p', { class: 'hint', id: `${id}-hint` }, hint));
  if (hint) described(input, `${id}-hint`);
  wrap.input = input;
  return wrap;
}

export function radios({ legend, name, options, value }) {
  const inputs = {};
  const hints = {};
  const fs = h('fieldset', { class: 'radios' }, h('legend', {}, legend),
    options.map((o) => {
      const id = uid(name);
      inputs[o.value] = h('input', { type: 'radio', id, name, value: o.value, checked: o.value === value });
      if (o.hint) {
        hints[o.value] = h('p', { class: 'hint', id: `${id}-hint` }, o.hint);
        described(inputs[o.value], `${id}-hint`);
      }
      return h('div', { class: 'check' }, inputs[o.value], h('label', { for: id, id: `${id}-l` }, o.label), hints[o.value]);
    }));
  fs.inputs = inputs;
  fs.hints = hints;
  fs.value = () => Object.values(inputs).find((i) => i.checked)?.value;
  return fs;
}

export function select({ label, name, options, value, hint }) {
  const id = uid(name);
  const s = h('select', { id, name }, options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
  if (hint) described(s, `${id}-hint`);
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label),
    hint && h('p', { class: 'hint', id: `${id}-hint` }, hint), s);
  wrap.input = s;
  return wrap;
}

export const button = (label, onclick, kind = 'secondary', type = 'button') =>
  h('button', { type, class: `btn ${kind}`, onclick }, label);

export const errorBox = () => h('div', { class: 'alert error', role: 'alert', hidden: true });
export const statusBox = () => h('div', { class: 'alert ok', role: 'status', hidden: true });

export function say(box, text) {
  box.textContent = text || '';
  box.hidden = !text;
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-error')) { el.textContent = ''; el.hidden = true; }
}

// A field that became valid loses its error, and the form's "Check the
// marked field." goes once nothing is marked any more.
export function clearStale(input) {
  input.removeAttribute('aria-invalid');
  const e = document.getElementById(`${input.id}-err`);
  if (e) { e.textContent = ''; e.hidden = true; }
  const form = input.closest('form');
  if (form && !form.querySelector('[aria-invalid="true"]')) {
    for (const box of form.querySelectorAll('.alert.error')) {
      if (box.textContent === t('err.checkField') || box.dataset.field === input.name) { box.textContent = ''; box.hidden = true; delete box.dataset.field; }
    }
  }
}

export function fieldError(input, text) {
  input.setAttribute('aria-invalid', 'true');
  const e = document.getElementById(`${input.id}-err`);
  if (e) { e.textContent = text; e.hidden = false; }
}

// Shows an API error on a form: the localized message in its alert box and,
// when the API names a field, on that field too (focusing it).
export function showError(form, box, err) {
  clearErrors(form);
  const msg = errText(err);
  say(box, msg);
  if (err && err.field) box.dataset.field = err.field;
  else delete box.dataset.field;
  if (err && err.field) {
    const input = form.querySelector(`[name="${CSS.escape(err.field)}"]`);
    if (input && !input.closest('[hidden]')) { say(box, t('err.checkField')); fieldError(input, msg); input.focus(); return; }
  }
  box.setAttribute('tabindex', '-1');
  box.focus();
}

export async function busy(btn, fn) {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try { return await fn(); } finally { btn.disabled = false; btn.removeAttribute('aria-busy'); }
}

// A new-password input with the live policy check and strength meter
// (POST /password-check, debounced).
export function newPassword({ label, name = 'new_password', userId, autocomplete = 'new-password' }) {
  const f = field({ label, name, type: 'password', autocomplete, hint: t('pw.hint') });
  const id = f.input.id;
  const show = checkbox({ label: t('pw.show'), name: `${name}-show` });
  show.input.addEventListener('change', () => { f.input.type = show.input.checked ? 'text' : 'password'; });
  const meter = h('meter', { id: `${id}-m`, min: 0, max: 80, low: 30, high: 50, optimum: 80, value: 0 });
  const level = h('span', { class: 'level' });
  const reasons = h('ul', { class: 'reasons' });
  const out = h('div', { class: 'strength', 'aria-live': 'polite' },
    h('label', { for: meter.id }, t('pw.strength')), meter, level, reasons);
  f.input.setAttribute('aria-describedby', `${f.input.getAttribute('aria-describedby')} ${id}-m`);
  let seqNo = 0;
  f.check = { ok: null };
  const run = debounce(async () => {
    const pw = f.input.value;
    const my = ++seqNo;
    if (!pw) { meter.value = 0; level.textContent = ''; reasons.replaceChildren(); return; }
    try {
      const body = { password: pw };
      if (userId) body.user_id = userId;
      const r = await api('POST', '/password-check', body, { background: true });
      if (my !== seqNo) return;
      f.check = r;
      if (r.min_length) policy.min_length = r.min_length;
      const bits = Math.round(r.strength_bits || 0);
      const need = r.min_strength_bits ?? 30;
      meter.low = need;
      meter.high = need + 20;
      meter.value = Math.min(bits, 80);
      // Words, not bits: measured against what this appliance's policy asks.
      const word = bits < need ? 'pw.weak' : bits < need + 20 ? 'pw.fair' : 'pw.strong';
      level.textContent = t(word);
      reasons.replaceChildren(...(r.ok ? [h('li', { class: 'good' }, t('pw.ok'))]
        : (r.reasons || []).map((c) => h('li', {}, has(`reason.${c}`) ? t(`reason.${c}`, { n: num(r.min_length || 12) }) : c))));
      if (r.ok) clearStale(f.input);
    } catch (e) {
      if (my === seqNo) reasons.replaceChildren(h('li', {}, errText(e)));
    }
  }, 300);
  f.input.addEventListener('input', run);
  f.append(show, out);
  return f;
}

const FINAL = new Set(['sent', 'failed', 'superseded', 'expired']);

// The relay's answer to the last try, in plain words of the page's language,
// with the relay's own text kept beside it (for whoever runs the relay) and,
// while the message waits, the time of the next try.
const ANSWERS = [
  [/not sent: the secret expired/i, 'relay.expired'],
  [/cannot be decrypted/i, 'relay.undecryptable'],
  [/STARTTLS/i, 'relay.starttls'],
  [/certificate|SSL|TLS/i, 'relay.tls'],
  [/resolve|name or service not known|not known/i, 'relay.dns'],
  [/timed? ?out|timeout/i, 'relay.timeout'],
  [/refused|couldn't connect|could not connect|failed to connect/i, 'relay.refused'],
  [/^(535|530|534)\b|auth|login denied/i, 'relay.auth'],
  [/^5\d\d\b|HTTP [45]\d\d/, 'relay.rejected'],
  [/^4\d\d\b/, 'relay.later'],
];
export function relayAnswer(n) {
  const raw = n.last_answer || '';
  if (!raw || n.state === 'sent') return raw;
  const hit = ANSWERS.find(([re]) => re.test(raw));
  const words = t(hit ? hit[1] : 'relay.other');
  const next = n.state === 'queued' && n.next_attempt_at ? t('relay.next', { when: date(n.next_attempt_at) }) : '';
  return h('span', { class: 'answer' }, h('span', {}, words), next && h('span', { class: 'next' }, ` ${next}`),
    h('span', { class: 'raw' }, ` ${t('relay.own', { text: raw })}`));
}

export const stateBadge = (s) => h('span', { class: `badge st-${s}` }, upper(has(`state.${s}`) ? t(`state.${s}`) : s));

// The notifications of a reset or user creation, polled every 2 s (as a
// background request) until each is sent or failed; failed ones show the
// relay's answer and a Retry button. Returns {el, stop}.
export function liveNotifications(list, userIds) {
  const byId = new Map(list.map((n) => [n.id, n]));
  const tbody = h('tbody');
  const table = h('table', { class: 'grid' },
    h('caption', { class: 'sr-only' }, t('notif.title')),
    h('thead', {}, h('tr', {}, ['notif.recipient', 'notif.kind', 'notif.state', 'notif.attempts', 'notif.answer', 'notif.action']
      .map((k) => h('th', { scope: 'col' }, t(k))))), tbody);
  let timer = null;
  let stopped = false;
  let started = Date.now();
  const draw = () => tbody.replaceChildren(...[...byId.values()].map((n) => h('tr', {},
    h('td', {}, email(n.recipient)),
    h('td', {}, has(`kind.${n.kind}`) ? t(`kind.${n.kind}`) : n.kind),
    h('td', {}, stateBadge(n.state)),
    h('td', {}, num(n.attempts || 0)),
    h('td', { class: 'wrap' }, relayAnswer(n)),
    h('td', {}, (n.state === 'failed' || (n.state === 'queued' && n.attempts > 0)) &&
      button(t('notif.retry'), async (ev) => {
        try {
          const r = await api('POST', `/notifications/${n.id}/retry`, {});
          Object.assign(n, (r && (r.notification || r)) || {}, { state: r?.state || r?.notification?.state || 'queued' });
          announce(t('notif.retrying', { to: n.recipient }));
          draw(); started = Date.now(); poll();
        } catch (e) { ev.target.replaceWith(h('span', { class: 'error' }, errText(e))); }
      })))));
  const poll = async () => {
    clearTimeout(timer);
    if (stopped || [...byId.values()].every((n) => FINAL.has(n.state))) return;
    timer = setTimeout(async () => {
      try {
        const res = [];
        for (const uidv of userIds || [null]) {
          const r = await api('GET', `/notifications${uidv ? `?user_id=${uidv}` : ''}`, undefined, { background: true });
          res.push(...(Array.isArray(r) ? r : r.notifications || []));
        }
        for (const n of res) {
          const old = byId.get(n.id);
          if (!old) continue;
          if (old.state !== n.state) announce(t('notif.changed', { to: n.recipient, state: t(`state.${n.state}`) }));
          byId.set(n.id, n);
        }
        draw();
      } catch { /* keep polling; a 401 already went to sign-in */ }
      if (!stopped) poll();
    }, Date.now() - started > 120000 ? 10000 : 2000);
  };
  draw();
  poll();
  const el = list.length ? table : h('p', {}, t('notif.none'));
  return { el, stop: () => { stopped = true; clearTimeout(timer); } };
}

export async function copy(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = h('textarea', { class: 'sr-only', readOnly: true }, text);
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
  announce(t('common.copied'));
  if (btn) {
    const old = btn.textContent;
    btn.textContent = t('common.copied');
    setTimeout(() => { btn.textContent = old; }, 2000);
  }
}

// Fills the print-only slip and prints; @media print hides everything else.
// A heading, who it is for, the secret, where to sign in, what must happen at
// first sign-in and when what expires: a slip handed over at the desk has to
// make sense on its own.
export function printSlips(items) {
  const slip = document.getElementById('slip');
  slip.replaceChildren(...items.map((it) => h('div', { class: 'slip-page' },
    h('h2', {}, t('slip.title')),
    h('dl', {},
      it.display_name && h('dt', {}, t('slip.name')), it.display_name && h('dd', {}, it.display_name),
      h('dt', {}, t('slip.username')), h('dd', {}, it.username),
      h('dt', {}, it.link ? t('slip.link') : t('slip.password')), h('dd', { class: 'secret' }, it.link || it.password),
      h('dt', {}, t('slip.signin')), h('dd', {}, `${location.origin}/`),
      it.expires && h('dt', {}, it.link ? t('slip.linkExpires') : t('slip.passwordExpires')), it.expires && h('dd', {}, date(it.expires))),
    it.link ? h('p', {}, t('slip.linkUse')) : it.mustChange && h('p', {}, t('slip.mustChange')))));
  window.addEventListener('afterprint', () => slip.replaceChildren(), { once: true });
  window.print();
}
