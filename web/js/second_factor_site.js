// Forward auth's two_factor hosts, seen from the users' side: a session
// without an authenticator app that is bound for such a host would only meet
// the proxy's 403 there, so the page sends it to "Second factor" first and on
// to the site once the app is set up.
import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';

// True when `url` (a configured site) wants a second factor this session lacks.
export async function siteNeedsFactor(url) {
  try {
    const r = await api('GET', `/auth/redirect?rd=${encodeURIComponent(url)}`, undefined,
      { noAuthRedirect: true, background: true });
    return !!r.second_factor_required;
  } catch {
    return false;  // the proxy still decides; nothing here lets anyone in
  }
}

// Keeps the site for later and says why the page opens "Second factor".
export function enrolFirst(app, url) {
  sessionStorage.setItem('resetd.rd', url);
  app.flash = t('tf.siteNeeds');
  return '/second-factor';
}

// After the app is set up: the way back to the site that asked for it.
export function continueToSite(box) {
  const rd = sessionStorage.getItem('resetd.rd');
  if (!rd) return;
  const go = h('button', { type: 'button', class: 'btn primary' }, t('tf.toSite'));
  go.addEventListener('click', () => {
    sessionStorage.removeItem('resetd.rd');
    location.assign(rd);
  });
  box.append(h('div', { class: 'actions' }, go));
}
