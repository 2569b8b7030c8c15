// Pages without an admin session: sign in, forgot password (self-service),
// set password (emailed link), and the (forced) change of one's own password.
import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { siteNeedsFactor, enrolFirst } from './second_factor_site.js';
import { keysPossible, keyAnswer, ipNote } from './security_keys.js';
import { field, newPassword, errorBox, say, showError, clearErrors, fieldError, busy, button } from './ui.js';

const page = (view, titleKey, ...kids) => view.append(h('div', { class: 'narrow' }, h('h1', { tabindex: '-1' }, t(titleKey)), ...kids));

function confirmMatches(form, pw, again) {
  if (pw.input.value !== again.input.value) {
    fieldError(again.input, t('pw.mismatch'));
    again.input.focus();
    return false;
  }
  return true;
}

// Forward auth: the proxy sends people here as /?rd=<page they wanted>#/signin.
// The server says whether that address is one of the configured sites.
export const returnTo = () => new URLSearchParams(location.search).get('rd') || sessionStorage.getItem('resetd.rd');
export function leaveFor(url) {
  sessionStorage.removeItem('resetd.rd');
  location.assign(url);
}

export async function signIn(view, ctx) {
  const err = errorBox();
  const user = field({ label: t('signin.username'), name: 'username', autocomplete: 'username', required: true, attrs: { autocapitalize: 'none' } });
  const pw = field({ label: t('signin.password'), name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('signin.submit'));
  const hl = await ctx.health();
  const form = h('form', { novalidate: true }, err, user, pw, h('div', { class: 'actions' }, submit,
    hl.self_service && h('a', { href: '#/forgot', class: 'btn link' }, t('signin.forgot'))));
  if (ctx.flash) say(err, ctx.flash);
  // Say before sign-in when the return address is not one of the configured sites.
  const note = h('p', { class: 'hint', role: 'status' });
  const wanted = returnTo();
  if (wanted) {
    try {
      await api('GET', `/auth/redirect?rd=${encodeURIComponent(wanted)}`, undefined, { noAuthRedirect: true, background: true });
    } catch (e) {
      if (e.code === 'redirect_not_allowed') { sessionStorage.removeItem('resetd.rd'); note.textContent = t('signin.returnRefused'); }
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    busy(submit, async () => {
      try {
        const rd = returnTo();
        const body = { username: user.input.value.trim(), password: pw.input.value };
        if (rd) body.rd = rd;
        const s = await api('POST', '/session', body, { noAuthRedirect: true });
        if (s.second_factor_required) {
          // The password alone opened no session: ask for the app's code.
          pw.input.value = '';
          return secondStep(view, ctx, s.pending_token, rd, s.methods || ['totp', 'recovery_code']);
        }
        await finishSignIn(ctx, s, rd);
      } catch (e) {
        pw.input.value = '';
        showError(form, err, e);
      }
    });
  });
  page(view, 'signin.title', h('p', {}, t('signin.intro')), note, form);
  ctx.focus = user.input;
}

async function finishSignIn(ctx, s, rd) {
  if (s.redirect && !s.must_change_password) {
    if (s.second_factor_enrolment_required || !(await siteNeedsFactor(s.redirect))) return leaveFor(s.redirect);
    ctx.setSession(s);
    return ctx.go(enrolFirst(ctx.app, s.redirect));
  }
  if (s.redirect) sessionStorage.setItem('resetd.rd', s.redirect);
  else if (rd) sessionStorage.removeItem('resetd.rd');
  ctx.setSession(s);
  const after = ctx.after();
  ctx.go(s.must_change_password ? '/password' : s.second_factor_enrolment_required ? '/second-factor'
    : after && after !== '/signin' ? after : '/users');
}

// The second step of a sign-in: a code from the authenticator app, or one of
// the recovery codes.
function secondStep(view, ctx, pending, rd, methods) {
  const err = errorBox();
  const hasTotp = methods.includes('totp');
  const hasKey = methods.includes('security_key');
  const code = field({ label: t('tf.code'), name: 'code', autocomplete: 'one-time-code', hint: t('tf.codeHint'),
    attrs: { inputmode: 'numeric', maxlength: '6', pattern: '[0-9]{6}' } });
  const rec = field({ label: t('tf.recoveryCode'), name: 'recovery_code', hint: t('tf.recoveryHint'), attrs: { autocapitalize: 'none' } });
  rec.hidden = true;
  code.hidden = !hasTotp;
  const toggle = hasTotp ? h('button', { type: 'button', class: 'btn link' }, t('tf.useRecovery')) : null;
  toggle?.addEventListener('click', () => {
    rec.hidden = !rec.hidden;
    code.hidden = !rec.hidden;
    toggle.textContent = t(rec.hidden ? 'tf.useRecovery' : 'tf.useCode');
    (rec.hidden ? code : rec).input.focus();
  });
  const submit = hasTotp ? h('button', { type: 'submit', class: 'btn primary' }, t('tf.verify')) : null;
  const keyOk = hasKey && keysPossible();
  const useKey = keyOk ? h('button', { type: 'button', class: hasTotp ? 'btn' : 'btn primary' }, t('sk.use')) : null;
  const form = h('form', { novalidate: true }, err, hasTotp ? code : null, hasTotp ? rec : null,
    hasKey && !keyOk ? ipNote() : null,
    h('div', { class: 'actions' }, useKey, submit, toggle,
      h('a', { href: '#/signin', class: 'btn link', onclick: () => ctx.go('/signin') }, t('common.backToSignIn'))));
  const send = async (extra) => {
    const body = { pending_token: pending, ...extra };
    if (rd) body.rd = rd;
    await finishSignIn(ctx, await api('POST', '/session/second-factor', body, { noAuthRedirect: true }), rd);
  };
  useKey?.addEventListener('click', () => {
    clearErrors(form);
    busy(useKey, async () => {
      try {
        let answer;
        try { answer = await keyAnswer(pending); } catch (e) {
          if (e && e.code) throw e;
          throw { code: 'security_key_cancelled', message: t('sk.cancelled') };
        }
        await send({ security_key: answer });
      } catch (e) { showError(form, err, e); }
    });
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!submit) return;
    clearErrors(form);
    busy(submit, async () => {
      try {
        await send(rec.hidden ? { code: code.input.value.trim() } : { recovery_code: rec.input.value.trim() });
      } catch (e) {
        code.input.value = '';
        rec.input.value = '';
        showError(form, err, e);
      }
    });
  });
  view.replaceChildren();
  page(view, 'tf.stepTitle', h('p', {}, t(hasTotp ? 'tf.stepIntro' : 'sk.stepIntro')), form);
  (useKey && !hasTotp ? useKey : code.input).focus();
}

export async function forgot(view, ctx) {
  const hl = await ctx.health();
  if (hl.self_service === false) {
    page(view, 'forgot.title', h('p', { class: 'alert error' }, t('forgot.unavailable')),
      h('a', { href: '#/signin', class: 'btn link flush' }, t('common.backToSignIn')));
    return;
  }
  const err = errorBox();
  const user = field({ label: t('signin.username'), name: 'username', autocomplete: 'username', required: true, attrs: { autocapitalize: 'none' } });
  const send = h('button', { type: 'submit', class: 'btn primary' }, t('forgot.send'));
  const step1 = h('form', { novalidate: true }, err, user, h('div', { class: 'actions' }, send,
    h('a', { href: '#/signin', class: 'btn link' }, t('common.backToSignIn'))));
  page(view, 'forgot.title', h('p', {}, t('forgot.intro')), step1);
  ctx.focus = user.input;
  let step2 = null;
  step1.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(step1);
    say(err, '');
    const name = user.input.value.trim();
    if (!name) { fieldError(user.input, t('err.required')); user.input.focus(); return; }
    busy(send, async () => {
      try {
        await api('POST', '/self-service/requests', { username: name });
        showStep2(name);
      } catch (e) { showError(step1, err, e); }
    });
  });
  function showStep2(username) {
    const err2 = errorBox();
    const code = field({ label: t('forgot.code'), name: 'code', hint: t('forgot.codeHint'), autocomplete: 'one-time-code', attrs: { inputmode: 'numeric', maxlength: '8' } });
    const pw = newPassword({ label: t('pw.new') });
    const again = field({ label: t('pw.again'), name: 'again', type: 'password', autocomplete: 'new-password' });
    const submit = h('button', { type: 'submit', class: 'btn primary' }, t('forgot.reset'));
    const again1 = h('button', { type: 'button', class: 'btn', hidden: true }, t('forgot.newCode'));
    const form = h('form', { novalidate: true }, err2, code, pw, again, h('div', { class: 'actions' }, submit, again1));
    const sent = h('p', { class: 'alert ok', role: 'status', tabindex: '-1' }, t('forgot.sent'));
    const box = h('div', {}, h('p', { class: 'who-line' }, t('forgot.for', { name: username })), sent, form);
    (step2 || step1).replaceWith(box);
    step2 = box;
    sent.focus();
    again1.addEventListener('click', () => { box.replaceWith(step1); step2 = null; user.input.focus(); });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const c = code.input.value.replace(/\s+/g, '');
      if (!/^\d{8}$/.test(c)) { say(err2, t('err.invalid_code')); fieldError(code.input, t('forgot.codeHint')); code.input.focus(); return; }
      if (!confirmMatches(form, pw, again)) return;
      busy(submit, async () => {
        try {
          await api('POST', '/self-service/reset', { username, code: c, new_password: pw.input.value });
          sent.remove();
          form.replaceWith(finished());
        } catch (e) {
          showError(form, err2, e);
          again1.hidden = !['code_expired', 'too_many_tries'].includes(e.code);
        }
      });
    });
  }
}

function finished() {
  const box = h('div', { class: 'alert ok', role: 'status', tabindex: '-1' }, h('p', {}, t('pw.doneSignIn')),
    h('a', { href: '#/signin', class: 'btn primary' }, t('signin.submit')));
  setTimeout(() => box.focus(), 0);
  return box;
}

export async function setPassword(view, ctx) {
  const token = ctx.query.get('token') || '';
  const err = errorBox();
  const pw = newPassword({ label: t('pw.new') });
  const again = field({ label: t('pw.again'), name: 'again', type: 'password', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('setpw.submit'));
  const form = h('form', { novalidate: true }, err, pw, again, h('div', { class: 'actions' }, submit));
  if (!token) say(err, t('err.invalid_token'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!confirmMatches(form, pw, again)) return;
    busy(submit, async () => {
      try {
        await api('POST', '/set-password', { token, new_password: pw.input.value });
        form.replaceWith(finished());
      } catch (e) { showError(form, err, e); }
    });
  });
  page(view, 'setpw.title', h('p', {}, t('setpw.intro')), form);
}

export async function changePassword(view, ctx) {
  const s = ctx.app.session;
  const forced = s.must_change_password;
  const err = errorBox();
  const cur = field({ label: t('pw.current'), name: 'current_password', type: 'password', autocomplete: 'current-password' });
  const pw = newPassword({ label: t('pw.new'), userId: s.user.id });
  const again = field({ label: t('pw.again'), name: 'again', type: 'password', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('pw.change'));
  const form = h('form', { novalidate: true }, err, cur, pw, again, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!confirmMatches(form, pw, again)) return;
    busy(submit, async () => {
      try {
        await api('POST', '/session/password', { current_password: cur.input.value, new_password: pw.input.value });
      } catch (e) { return showError(form, err, e); }
      // The server may end every session on a password change; then sign in anew.
      try {
        const fresh = await api('GET', '/session', undefined, { noAuthRedirect: true });
        ctx.setSession(fresh);
        const back = sessionStorage.getItem('resetd.rd');
        if (fresh.second_factor_enrolment_required) return ctx.go('/second-factor');
        if (back && !fresh.must_change_password) return leaveFor(back);
        if (!fresh.must_change_password && ['global_admin', 'user_admin', 'helpdesk_admin', 'password_admin'].includes(fresh.user.role)) {
          ctx.app.flash = t('pw.changed');
          return ctx.go('/users');
        }
        form.replaceWith(h('p', { class: 'alert ok', role: 'status' }, t('pw.changed')));
      } catch {
        ctx.setSession(null);
        ctx.app.flash = t('pw.doneSignIn');
        ctx.go('/signin');
      }
    });
  });
  page(view, forced ? 'pw.forcedTitle' : 'pw.title',
    h('p', {}, forced ? t('pw.forcedIntro') : t('pw.intro', { name: s.user.username })), form,
    forced && button(t('nav.signout'), () => document.getElementById('signout').click(), 'link'));
  ctx.focus = cur.input;
}
