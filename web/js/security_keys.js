// Security keys (WebAuthn) on "Second factor" and at the sign-in's second
// step. resetd checks every answer; the page only moves bytes (base64url)
// between resetd and navigator.credentials. Browsers refuse WebAuthn on an IP
// address: the page then says so (the app's code still works there).
import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { field, errorBox, showError, clearErrors, fieldError, busy, announce } from './ui.js';
import { continueAfterEnrol } from './second_factor_manage.js';

const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

// Whether this page can use security keys at all.
export function keysPossible() {
  return !!window.PublicKeyCredential && window.isSecureContext && !/^[0-9.]+$|:/.test(location.hostname);
}

export function ipNote() {
  return h('p', { class: 'hint', 'data-ip-note': '' }, t('sk.ipNote'));
}

// The sign-in's second step with a key: the answer for POST /session/second-factor.
export async function keyAnswer(pending) {
  const ch = await api('POST', '/session/second-factor/security-key/challenge', { pending_token: pending }, { noAuthRedirect: true });
  const cred = await navigator.credentials.get({ publicKey: {
    challenge: dec(ch.challenge), rpId: ch.rp_id, timeout: ch.timeout_ms, userVerification: 'discouraged',
    allowCredentials: ch.credentials.map((id) => ({ type: 'public-key', id: dec(id) })) } });
  return { id: enc(cred.rawId), client_data_json: enc(cred.response.clientDataJSON),
    authenticator_data: enc(cred.response.authenticatorData), signature: enc(cred.response.signature) };
}

// The keys, each with a Remove button; removing needs the current password
// (and works on an IP address too: no key is asked).
function keyList(box, st, ctx) {
  const err = errorBox();
  const pw = field({ label: t('pw.current'), name: 'sk_remove_password', type: 'password', autocomplete: 'current-password',
    hint: t('sk.removeHint') });
  const list = h('ul', { class: 'security-keys' }, st.security_keys.map((k) => {
    const remove = h('button', { type: 'button', class: 'btn danger', 'data-remove-key': String(k.id),
      'aria-label': t('sk.removeKey', { name: k.name }) }, t('sk.remove'));
    remove.addEventListener('click', () => {
      clearErrors(form);
      if (!pw.input.value) { fieldError(pw.input, t('err.required')); pw.input.focus(); return; }
      busy(remove, async () => {
        try {
          await api('POST', `/session/second-factor/security-key/${k.id}/remove`, { current_password: pw.input.value });
          ctx.app.flash = t('sk.removed', { name: k.name });
          ctx.go('/second-factor');
        } catch (ex) {
          pw.input.value = '';
          showError(form, err, ex);
        }
      });
    });
    return h('li', {}, h('strong', {}, k.name), ` (${k.rp_id}) `, remove);
  }));
  const form = h('form', { novalidate: true, 'aria-labelledby': 'sk-list-title' }, err,
    h('h3', { id: 'sk-list-title' }, t('sk.listTitle')), list, pw);
  form.addEventListener('submit', (ev) => ev.preventDefault());
  box.append(form);
}

// "Security keys" on the Second factor page: the list, and adding one.
export function keySection(box, st, ctx) {
  box.append(h('h2', { id: 'sk-title' }, t('sk.title')), h('p', {}, t('sk.intro')));
  if ((st.security_keys || []).length) keyList(box, st, ctx);
  if (!st.security_key_rp_id || !keysPossible()) { box.append(ipNote()); return; }
  if (st.policy === 'off') return;
  const err = errorBox();
  const pw = field({ label: t('pw.current'), name: 'sk_current_password', type: 'password', autocomplete: 'current-password', required: true });
  const name = field({ label: t('sk.name'), name: 'sk_name', hint: t('sk.nameHint'), required: true, attrs: { maxlength: '64' } });
  const add = h('button', { type: 'submit', class: 'btn primary' }, t('sk.add'));
  const form = h('form', { novalidate: true, 'aria-labelledby': 'sk-title' }, err, pw, name, h('div', { class: 'actions' }, add));
  box.append(form);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!pw.input.value) { fieldError(pw.input, t('err.required')); pw.input.focus(); return; }
    if (!name.input.value.trim()) { fieldError(name.input, t('err.required')); name.input.focus(); return; }
    busy(add, async () => {
      try {
        const o = await api('POST', '/session/second-factor/security-key', { current_password: pw.input.value, name: name.input.value.trim() });
        pw.input.value = '';
        let cred;
        try {
          cred = await navigator.credentials.create({ publicKey: {
            challenge: dec(o.challenge), rp: { id: o.rp_id, name: 'resetd' },
            user: { id: dec(o.user.id), name: o.user.name, displayName: o.user.name },
            pubKeyCredParams: [{ type: 'public-key', alg: -7 }], timeout: o.timeout_ms, attestation: 'none',
            excludeCredentials: o.credentials.map((id) => ({ type: 'public-key', id: dec(id) })),
            authenticatorSelection: { userVerification: 'discouraged', residentKey: 'discouraged' } } });
        } catch (ex) {
          throw { code: 'security_key_cancelled', message: t('sk.cancelled') };
        }
        await api('POST', '/session/second-factor/security-key/confirm', {
          client_data_json: enc(cred.response.clientDataJSON), authenticator_data: enc(cred.response.getAuthenticatorData()) });
        announce(t('sk.added'));
        if (ctx.app.session?.second_factor_enrolment_required) {
          box.replaceChildren(box.querySelector('h1'), h('p', { class: 'alert ok', role: 'status' }, t('sk.added')));
          return continueAfterEnrol(box, ctx);
        }
        ctx.app.flash = t('sk.added');
        ctx.go('/second-factor');
      } catch (ex) {
        pw.input.value = '';
        showError(form, err, ex);
      }
    });
  });
}
