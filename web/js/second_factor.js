// "Second factor": set up an authenticator app (TOTP) for one's own account.
// The QR code is drawn here from resetd's answer (module rows), as SVG: no
// image or script from anywhere else.
import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { field, errorBox, showError, clearErrors, fieldError, busy, announce, say } from './ui.js';
import { manageForms, recoveryList, continueAfterEnrol } from './second_factor_manage.js';
import { continueToSite } from './second_factor_site.js';
import { keySection } from './security_keys.js';

const SVG = 'http://www.w3.org/2000/svg';

function qrCode(rows, label) {
  const n = rows.length;
  const side = n + 8;  // a quiet zone of 4 modules
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${side} ${side}`);
  svg.setAttribute('width', String(side * 5));
  svg.setAttribute('height', String(side * 5));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  const bg = document.createElementNS(SVG, 'rect');
  bg.setAttribute('width', String(side));
  bg.setAttribute('height', String(side));
  bg.setAttribute('fill', '#fff');
  let d = '';
  rows.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) if (row[x] === '1') d += `M${x + 4},${y + 4}h1v1h-1z`;
  });
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return h('div', { class: 'qr' }, svg);
}

export async function secondFactor(view, ctx) {
  const st = await api('GET', '/session/second-factor');
  const title = h('h1', { tabindex: '-1' }, t('tf.title'));
  const box = h('div', { class: 'narrow' }, title);
  view.append(box);
  ctx.focus = title;
  if (ctx.flash) { const note = h('p', { class: 'alert ok', role: 'status' }); box.append(note); say(note, ctx.flash); }
  if (st.totp) {
    box.append(h('p', { class: 'alert ok', role: 'status' }, t('tf.active')),
      h('p', {}, t('tf.codesLeft', { n: st.recovery_codes_left })));
    manageForms(box, st, ctx, showEnrol);
    keySection(box, st, ctx);
    return;
  }
  if (st.policy === 'off') { box.append(h('p', {}, t('tf.offNote'))); return; }
  if (st.policy === 'required') box.append(h('p', { class: 'alert', role: 'status' }, t('tf.requiredNote')));
  const err = errorBox();
  const pw = field({ label: t('pw.current'), name: 'current_password', type: 'password', autocomplete: 'current-password', required: true });
  const start = h('button', { type: 'submit', class: 'btn primary' }, t('tf.start'));
  const form = h('form', { novalidate: true }, err, pw, h('div', { class: 'actions' }, start));
  box.append(h('p', {}, t('tf.intro')), form);
  keySection(box, st, ctx);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!pw.input.value) { fieldError(pw.input, t('err.required')); pw.input.focus(); return; }
    busy(start, async () => {
      try {
        showEnrol(box, await api('POST', '/session/second-factor/totp', { current_password: pw.input.value }), ctx);
      } catch (ex) {
        pw.input.value = '';
        showError(form, err, ex);
      }
    });
  });
}

// replacing: a move to a new phone (second_factor_manage.js), whose confirmation
// swaps the apps rather than turning the factor on.
function showEnrol(box, e, ctx, replacing = false) {
  const err = errorBox();
  const code = field({ label: t('tf.code'), name: 'code', autocomplete: 'one-time-code',
    hint: t(replacing ? 'tf.replaceConfirmHint' : 'tf.confirmHint'),
    attrs: { inputmode: 'numeric', maxlength: '6', pattern: '[0-9]{6}' } });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t(replacing ? 'tf.replaceConfirm' : 'tf.confirm'));
  const form = h('form', { novalidate: true }, err, code, h('div', { class: 'actions' }, submit));
  const secret = e.secret.replace(/(.{4})/g, '$1 ').trim();
  const title = box.querySelector('h1');
  box.replaceChildren(title, h('h2', {}, t('tf.scanTitle')), h('p', {}, t('tf.scan')), qrCode(e.qr, t('tf.qrLabel')),
    h('p', {}, t('tf.typeSecret')), h('p', {}, h('code', { class: 'secret', 'data-secret': e.secret }, secret)), form);
  code.input.focus();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    busy(submit, async () => {
      try {
        const r = await api('POST', '/session/second-factor/totp/confirm', { code: code.input.value.trim() });
        const h2 = h('h2', { tabindex: '-1' }, t('tf.recoveryTitle'));
        const done = t(replacing ? 'tf.replaced' : 'tf.enrolled');
        box.replaceChildren(title, h('p', { class: 'alert ok', role: 'status' }, done), h2,
          h('p', {}, t('tf.recoveryIntro')),
          recoveryList(r.recovery_codes));
        h2.focus();
        announce(done);
        if (ctx.app.session?.second_factor_enrolment_required) await continueAfterEnrol(box, ctx);
        continueToSite(box);
      } catch (ex) {
        code.input.value = '';
        showError(form, err, ex);
      }
    });
  });
}
