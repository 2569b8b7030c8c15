// "Second factor" once an app is set up: new recovery codes, moving the app
// to a new phone, or removing it (not the last factor a role requires). Both need the current password and a
// code from the app or a recovery code. And the way on after an enrolment the
// site's policy asked for.
import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { field, errorBox, showError, clearErrors, fieldError, busy, announce } from './ui.js';

// The proof both actions send: a 6-digit code is the app's, anything else a recovery code.
function proof(pw, code) {
  const c = code.input.value.trim();
  const body = { current_password: pw.input.value };
  if (/^[0-9]{6}$/.test(c)) body.code = c;
  else body.recovery_code = c;
  return body;
}

export function recoveryList(codes) {
  return h('ol', { class: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', {}, c))));
}

// showEnrol: second_factor.js's QR and confirm step, for a replacement.
export function manageForms(box, st, ctx, showEnrol) {
  const title = box.querySelector('h1');
  const err = errorBox();
  const pw = field({ label: t('pw.current'), name: 'current_password', type: 'password', autocomplete: 'current-password', required: true });
  const code = field({ label: t('tf.codeOrRecovery'), name: 'code', autocomplete: 'one-time-code', required: true, hint: t('tf.recoveryHint') });
  const renew = h('button', { type: 'submit', class: 'btn primary' }, t('tf.renew'));
  const required = st.policy === 'required';
  const remove = required && !(st.security_keys || []).length ? null
    : h('button', { type: 'button', class: 'btn danger' }, t('tf.remove'));
  // A new phone: the old app keeps working until the new one's first code.
  const replace = h('button', { type: 'button', class: 'btn' }, t('tf.replace'));
  const form = h('form', { novalidate: true, 'aria-labelledby': 'tf-manage' }, err, pw, code,
    h('div', { class: 'actions' }, renew, replace, remove));
  const heading = required ? t('tf.renewTitle') : `${t('tf.renewTitle')} / ${t('tf.removeTitle')}`;
  box.append(h('h2', { id: 'tf-manage' }, heading), h('p', {}, t('tf.proofIntro')), form,
    h('p', { class: 'hint' }, t('tf.replaceHint')),
    remove ? h('p', { class: 'hint' }, t('tf.removeHint')) : h('p', { class: 'hint' }, t('tf.removeRequired')));
  const check = () => {
    clearErrors(form);
    if (!pw.input.value) { fieldError(pw.input, t('err.required')); pw.input.focus(); return false; }
    if (!code.input.value.trim()) { fieldError(code.input, t('err.required')); code.input.focus(); return false; }
    return true;
  };
  const fail = (ex) => {
    pw.input.value = '';
    code.input.value = '';
    // the API names recovery_code for a recovery code: it is typed in the one field
    if (ex && ex.field === 'recovery_code') ex.field = 'code';
    showError(form, err, ex);
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!check()) return;
    busy(renew, async () => {
      try {
        const r = await api('POST', '/session/second-factor/recovery-codes', proof(pw, code));
        const h2 = h('h2', { tabindex: '-1' }, t('tf.recoveryTitle'));
        box.replaceChildren(title, h('p', { class: 'alert ok', role: 'status' }, t('tf.renewed')), h2,
          h('p', {}, t('tf.recoveryIntro')), recoveryList(r.recovery_codes));
        h2.focus();
        announce(t('tf.renewed'));
      } catch (ex) { fail(ex); }
    });
  });
  replace.addEventListener('click', () => {
    if (!check()) return;
    busy(replace, async () => {
      try {
        showEnrol(box, await api('POST', '/session/second-factor/totp', proof(pw, code)), ctx, true);
      } catch (ex) { fail(ex); }
    });
  });
  remove?.addEventListener('click', () => {
    if (!check()) return;
    busy(remove, async () => {
      try {
        await api('POST', '/session/second-factor/remove', proof(pw, code));
        ctx.app.flash = t('tf.removed');
        ctx.go('/second-factor');
      } catch (ex) { fail(ex); }
    });
  });
}

// After an enrolment the policy required: the session is a full one now.
export async function continueAfterEnrol(box, ctx) {
  const fresh = await api('GET', '/session', undefined, { noAuthRedirect: true });
  ctx.setSession(fresh);
  const go = h('button', { type: 'button', class: 'btn primary' }, t('tf.continue'));
  go.addEventListener('click', () => ctx.go('/users'));
  box.append(h('div', { class: 'actions' }, go));
}
