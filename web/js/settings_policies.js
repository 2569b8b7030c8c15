// Settings: what each role must do at the helpdesk and at sign-in
// ([caller_verification], [second_factor]). Both are set in the configuration
// file and read at start, so the page shows them read-only, as it does
// forward auth and PAM.
import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { errText } from './ui.js';

const ORDER = ['user', 'helpdesk_admin', 'password_admin', 'user_admin', 'global_admin'];

function table(id, caption, policies) {
  const roles = ORDER.filter((r) => r in policies);
  return h('div', {}, h('h3', { id }, caption),
    h('dl', { class: 'facts' }, ...roles.flatMap((r) => [
      h('dt', {}, t(`role.${r}`)), h('dd', {}, h('strong', {}, t(`rp.${policies[r]}`)))])));
}

export async function rolePolicies() {
  const sec = h('section', { class: 'card', 'aria-labelledby': 'h-settings.rolePolicies' },
    h('h2', { id: 'h-settings.rolePolicies' }, t('settings.rolePolicies')));
  let d;
  try {
    d = await api('GET', '/settings/role-policies');
  } catch (e) {
    sec.append(h('p', { class: 'alert error' }, errText(e)));
    return sec;
  }
  sec.append(h('p', { class: 'hint' }, t('settings.rolePoliciesIntro')),
    table('h-rp-caller', t('rp.caller'), d.caller_verification || {}),
    table('h-rp-factor', t('rp.secondFactor'), d.second_factor || {}));
  return sec;
}
