// "Verify caller" on the reset panel (issue 23): resetd sends a one-time
// code to the user's alternate address (or asks for their authenticator
// app's code); the admin types what the caller reads out. The page never
// sees the code except as the admin types it. When the admin's role must
// verify, a reset without it needs a reason (sent to global admins).
import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { field, errorBox, statusBox, say, busy, button, errText, fieldError } from './ui.js';

// user: the reset's target. autostart: start at once (from the details pane).
// Returns null when caller verification is off for the admin's role.
export async function callerCheck({ user, autostart }) {
  let policy = 'optional';
  try {
    policy = (await api('GET', '/caller-verification', undefined, { background: true })).policy;
  } catch { /* the reset itself still says what is missing */ }
  if (policy === 'off') return null;
  let verified = null;
  let challenge = null;
  const err = errorBox();
  const msg = statusBox();
  const code = field({ label: t('caller.code'), name: 'caller_code', autocomplete: 'one-time-code',
    attrs: { inputmode: 'numeric', maxlength: 6, pattern: '[0-9]{6}' } });
  const check = button(t('caller.check'), (ev) => busy(ev.target, async () => {
    say(err, '');
    const v = code.input.value.trim();
    if (!/^\d{6}$/.test(v)) { fieldError(code.input, t('caller.sixDigits')); code.input.focus(); return; }
    try {
      const r = await api('POST', `/users/${user.id}/caller-verification/check`, { id: challenge.id, code: v });
      verified = r;
      code.input.value = '';
      entry.hidden = true;
      reason.hidden = true;
      say(msg, r.method === 'totp' ? t('caller.verifiedApp') : t('caller.verifiedCode', { to: r.destination }));
      start.hidden = true;
    } catch (e) {
      code.input.value = '';
      say(err, errText(e));
      if (e.code === 'caller_verification_ended' || e.code === 'caller_verification_expired' || e.status === 404) {
        entry.hidden = true;
        start.textContent = t('caller.again');
      }
      code.input.focus();
    }
  }));
  const entry = h('div', { class: 'caller-entry', hidden: true }, code, check);
  const start = button(t('caller.start'), (ev) => busy(ev.target, async () => {
    say(err, ''); say(msg, '');
    try {
      challenge = await api('POST', `/users/${user.id}/caller-verification`, {});
      say(msg, challenge.method === 'totp' ? t('caller.askApp') : t('caller.sent', { to: challenge.destination }));
      entry.hidden = false;
      code.input.focus();
    } catch (e) { say(err, errText(e)); }
  }));
  const reason = policy === 'required'
    ? field({ label: t('caller.reason'), name: 'override_reason', hint: t('caller.reasonHint'), attrs: { maxlength: 500 } })
    : null;
  const el = h('fieldset', { class: 'caller' }, h('legend', {}, t('caller.legend')),
    h('p', { class: 'hint' }, t(policy === 'required' ? 'caller.introRequired' : 'caller.intro')),
    err, msg, start, entry, reason);
  if (autostart) setTimeout(() => start.click(), 0);
  // The reset's options: the verification it uses up, or the override reason.
  const values = () => {
    if (verified) return { caller_verification: verified.id };
    const why = reason ? reason.input.value.trim() : '';
    if (policy === 'required' && !why) {
      fieldError(reason.input, t('caller.needed'));
      start.focus();
      return null;
    }
    return why ? { override_reason: why } : {};
  };
  return { el, values, policy };
}

// A bulk reset: a verification names one user, so when the admin's role must
// verify, the batch needs the override reason (audited for each user, sent
// to global admins). Returns null when the role need not verify.
export async function bulkCallerReason() {
  let policy = 'optional';
  try {
    policy = (await api('GET', '/caller-verification', undefined, { background: true })).policy;
  } catch { /* the reset itself still says what is missing */ }
  if (policy !== 'required') return null;
  const reason = field({ label: t('caller.reason'), name: 'override_reason', hint: t('caller.reasonHint'), attrs: { maxlength: 500 } });
  const el = h('fieldset', { class: 'caller' }, h('legend', {}, t('caller.legend')),
    h('p', { class: 'hint' }, t('caller.bulkRequired')), reason);
  const values = () => {
    const why = reason.input.value.trim();
    if (!why) {
      fieldError(reason.input, t('caller.bulkNeeded'));
      reason.input.focus();
      return null;
    }
    return { override_reason: why };
  };
  return { el, values, policy };
}
