// Issue 21, the admin's workbench, third part: the user's details as the
// place where a reset is followed up (item 6: password state, last sign-in,
// sessions and "Sign out of all sessions", recent messages with Retry, the
// user's audit; one's own record from the header) and the list filters with
// a Reset in each row's menu (item 8). Driven through the UI against the real
// binary in en, zh-TW and tr-TR, labels from the message files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startResetd, adminApi, launchSignedInAdmin, sleep, readI18n, ApiClient, ADMIN_PASSWORD, checkAxe as axe, setLanguage, shot } from '../harness.mjs';

const I18N = readI18n();
const T = (l, k, vars = {}) => I18N[l][k].replace(/\{(\w+)\}/g, (m, n) => (n in vars ? String(vars[n]) : m));
// A plural message as the UI picks it (Intl.PluralRules, else the base key).
const TN = (l, k, n, vars = {}) => {
  const c = `${k}.${new Intl.PluralRules(l).select(n)}`;
  return T(l, c in I18N[l] ? c : k, { ...vars, n });
};
// The fixed text of a message around a {placeholder}, for a substring match.
const before_ = (l, k) => I18N[l][k].split('{')[0].trim();
// Its longest fixed part, wherever the placeholder stands ("{when} tarihine kadar kilitli").
const fixed_ = (l, k) => I18N[l][k].split(/\{\w+\}/).map((x) => x.trim()).sort((x, y) => y.length - x.length)[0];
const LOCALES = ['en', 'zh-TW', 'tr-TR'];
const DORA_PW = 'Violet-Harbor-Engine-5823';

let server;
let admin;
let clock = 0;
let b;
const ids = {};

async function inLanguage(page, l, hash) {
  await page.goto(`${server.origin}/#/signin`);
  await page.goto(`${server.origin}/#/users`);
  await setLanguage(page, l);
  await page.goto(`${server.origin}/${hash}`);
}

// Ten wrong passwords lock a user out (spec: sign-in throttle); the test clock
// is moved past each growing delay (about 2 minutes in all) instead of waiting it out.
async function lockOut(username) {
  for (let failures = 0; failures < 10;) {
    const r = await fetch(`${server.origin}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password: 'Wrong-Password-For-Lockout' }) });
    await r.text();
    if (r.status === 401) failures++;
    else if (r.status === 429) {
      // The service reads the offset file every 100 ms: wait for it, or the
      // next try is refused again and the clock runs ahead (sessions expire).
      server.setClock(clock += Number(r.headers.get('Retry-After') || 1));
      await sleep(400);
    }
    else throw new Error(`lockout: ${r.status}`);
  }
}

before(async () => {
  // Temporary passwords last 12 h, so dora's is "expiring" (within 24 h).
  server = await startResetd({ testClock: true, extraToml: '\n[accounts]\ntemp_password_ttl_h = 12\n', users: [
    { username: 'lou', email: 'lou@corp.example', display_name: 'Lou Lock' },
    { username: 'john', email: 'john.smith@corp.example', display_name: 'John Smith' },
    { username: 'hd', email: 'hd@corp.example', display_name: 'Hana Desk', role: 'helpdesk_admin' },
    { username: 'bl', email: 'bl@corp.example', display_name: 'Bora Lee' },
  ] });
  admin = await adminApi(server.origin);
  // Dora: a temporary password set by the admin, a notice that could not be
  // delivered (nothing listens on port 9), and a session of her own.
  await admin.call('PUT', '/settings/relay', { kind: 'smtp', host: '127.0.0.1', port: 9, security: 'none' });
  await admin.call('POST', '/users', { username: 'dora', display_name: 'Dora Diaz', email: 'dora@corp.example', role: 'user', locale: 'en',
    mode: 'manual', password: DORA_PW, delivery: 'password', require_change: true, notify: ['dora.home@home.example'], notify_user: false });
  for (const u of (await admin.call('GET', '/users?limit=50')).users) ids[u.username] = u.id;
  await admin.call('PATCH', `/users/${ids.bl}`, { disabled: true });
  await lockOut('lou');
  assert.equal((await admin.call('GET', `/users/${ids.lou}`)).locked, true);
  for (let i = 0; i < 100; i++) {
    const r = await admin.call('GET', `/notifications?user_id=${ids.dora}`);
    if ((r.notifications || r).some((n) => n.state === 'failed' || n.attempts > 0)) break;
    await sleep(100);
  }
  b = await launchSignedInAdmin(server.origin, 'en', { width: 1024, height: 600 });
  await b.page.getByRole('heading', { name: 'Active users' }).waitFor();
});

after(async () => {
  await b?.ctx.close();
  server?.stop();
});

test('6. the details: password state, last sign-in, messages with Retry, audit, sign out of all sessions', async () => {
  const { page } = b;
  for (const l of LOCALES) {
    await new ApiClient(server.origin).signIn('dora', DORA_PW);  // one open session
    await inLanguage(page, l, '#/users');
    await page.getByRole('heading', { name: T(l, 'users.title') }).waitFor();
    await page.getByRole('button', { name: 'Dora Diaz' }).click();
    const pane = page.getByRole('dialog', { name: 'Dora Diaz' });
    await pane.getByRole('heading', { name: T(l, 'det.password') }).waitFor();
    // The password: temporary with its expiry, set by whom, must change, not locked.
    await pane.getByText(before_(l, 'det.pwTemporary')).waitFor();
    const facts = await pane.innerText();
    assert.match(facts, /[(（]UTC[)）]/, `${l}: times name their zone`);
    const setBy = I18N[l]['det.setByText'].split('{when}')[0].replace('{who}', 'admin');
    assert.ok(facts.includes(setBy), `${l}: set by the admin: ${facts}`);
    assert.ok(facts.includes(T(l, 'act.user_create_password')), `${l}: what set it`);
    assert.ok(facts.includes(T(l, 'det.lockNone')), `${l}: not locked`);
    // Sign-in: a last sign-in with a time, one open session.
    assert.ok(!facts.includes(T(l, 'det.never')), `${l}: dora has signed in`);
    // Her message that failed, with Retry.
    const msg = pane.getByRole('row').filter({ hasText: 'dora.home@home.example' });
    await msg.getByRole('button', { name: T(l, 'notif.retry') }).waitFor();
    // Her audit (a global admin reads it).
    await pane.getByRole('heading', { name: T(l, 'det.audit') }).waitFor();
    await pane.getByRole('cell', { name: T(l, 'act.sign_in'), exact: true }).first().waitFor();
    await axe(page, `${l} user details`);
    // The pane scrolls inside at 1024×600: its top (record, password, sign-in)
    // and its end (messages, audit, the actions).
    await pane.evaluate((d) => { d.scrollTop = 0; });
    await shot(page, l, 'user-details-top');
    await pane.evaluate((d) => { d.scrollTop = d.scrollHeight; });
    await shot(page, l, 'user-details');
    await pane.getByRole('button', { name: T(l, 'det.signOutAll') }).click();
    await pane.getByText(TN(l, 'det.signedOut', 1, { name: 'dora' })).waitFor();
    await axe(page, `${l} user details after sign out`);
    await pane.getByRole('button', { name: T(l, 'common.close'), exact: true }).click();
  }
  const s = await admin.call('GET', `/users/${ids.dora}`);
  assert.equal(s.active_sessions, 0);
  const audit = await admin.call('GET', '/audit?action=session_end&target=dora');
  assert.equal(audit.entries.length, 3, 'each sign-out audited');
  await setLanguage(page, 'en');
});

test('6. one\'s own record from the header: add my email (three languages), then "Add my address" on the reset panel', async () => {
  const { page } = b;
  for (const l of LOCALES) {
    const mine = `admin.${l.toLowerCase()}@corp.example`;
    await inLanguage(page, l, '#/users');
    await page.getByRole('heading', { name: T(l, 'users.title') }).waitFor();
    await page.getByRole('link', { name: T(l, 'app.signedInAs', { name: 'admin' }) }).click();
    const pane = page.getByRole('dialog', { name: 'admin' });
    await pane.getByRole('heading', { name: T(l, 'det.signIn') }).waitFor();
    // Not a reset of oneself (spec §4); one's other sessions only.
    assert.equal(await pane.getByRole('link', { name: T(l, 'users.reset') }).count(), 0);
    await pane.getByRole('button', { name: T(l, 'det.signOutOthers') }).waitFor();
    await axe(page, `${l} own details`);
    await pane.getByRole('link', { name: T(l, 'users.edit') }).click();
    // One's own email: the form asks for the current password (spec §4).
    const email = page.getByLabel(T(l, 'users.email'), { exact: true });
    await email.waitFor();
    await email.fill(mine);
    await page.getByLabel(T(l, 'users.currentPassword')).fill(ADMIN_PASSWORD);
    await axe(page, `${l} own edit form`);
    await shot(page, l, 'own-edit');
    await page.getByRole('button', { name: T(l, 'common.save') }).click();
    await page.getByRole('heading', { name: T(l, 'users.title') }).waitFor();
    assert.equal((await admin.call('GET', '/session')).user.email, mine, `${l}: own email saved`);
    // The reset panel offers one's own address as a recipient: a click adds it
    // once, and the chip is then off.
    await page.goto(`${server.origin}/#/reset/${ids.john}`);
    await page.getByRole('heading', { name: T(l, 'reset.title') }).waitFor();
    await page.getByRole('radio', { name: T(l, 'reset.deliverPassword') }).check();
    const picks = page.getByRole('group', { name: T(l, 'reset.picks') });
    const me = picks.getByRole('button', { name: T(l, 'reset.pickMe', { email: mine }) });
    await me.click();
    const to = page.getByRole('textbox', { name: T(l, 'reset.recipients'), exact: true });
    assert.equal(await to.inputValue(), mine, `${l}: my address added`);
    assert.equal(await me.isDisabled(), true, `${l}: added once`);
    await axe(page, `${l} reset with my address`);
    await shot(page, l, 'reset-pick-me');
    await page.getByRole('link', { name: T(l, 'common.cancel') }).click();
  }
  await setLanguage(page, 'en');
  assert.deepEqual(b.problems, []);
});

test('8. list filters (blocked, must change, locked, admins, expiring) and Reset in each row\'s menu', async () => {
  const { page } = b;
  const shown = async () => (await page.locator('main table tbody tr').allInnerTexts()).map((r) => r.split('\t').map((c) => c.trim()));
  for (const l of LOCALES) {
    await inLanguage(page, l, '#/users');
    await page.getByRole('heading', { name: T(l, 'users.title') }).waitFor();
    const show = page.getByLabel(T(l, 'filter.label'), { exact: true });
    // The rows shown are the API's answer for that filter (its meaning is
    // tested in tests/integration/test_user_details.py), with the users
    // this test set up where they belong.
    const expect = async (filter, query, has, hasNot) => {
      const want = (await admin.call('GET', `/users?limit=50${query}`)).users.map((u) => u.username).sort();
      await show.selectOption({ label: T(l, `filter.${filter}`) });
      await page.waitForFunction((n) => document.querySelectorAll('main table tbody tr').length === n, Math.max(want.length, 1));
      await sleep(150);
      const rows = await shown();
      const got = want.length ? rows.map((r) => r[2]).sort() : [];
      assert.deepEqual(got, want, `${l} ${filter}: ${JSON.stringify(rows)}`);
      for (const n of has) assert.ok(got.includes(n), `${l} ${filter}: ${n} shown`);
      for (const n of hasNot) assert.ok(!got.includes(n), `${l} ${filter}: ${n} not shown`);
    };
    await expect('blocked', '&disabled=true', ['bl'], ['john', 'dora']);
    await expect('must_change', '&filter=must_change', ['dora'], ['admin']);
    await expect('locked', '&filter=locked', ['lou'], ['john', 'dora', 'bl']);
    // The locked row says so, and until when.
    const lou = page.getByRole('row').filter({ hasText: 'lou@corp.example' });
    await lou.getByText(fixed_(l, 'user.lockedUntil').toLocaleUpperCase(l)).waitFor();
    await axe(page, `${l} locked list`);
    await shot(page, l, 'users-locked');
    await expect('admins', '&filter=admins', ['admin', 'hd'], ['john', 'dora']);
    await expect('temp_expiring', '&filter=temp_expiring', ['dora'], ['john', 'admin', 'lou']);
    await axe(page, `${l} filtered list`);
    await expect('all', '', ['admin', 'bl', 'dora', 'hd', 'john', 'lou'], []);
    // The row's menu: Reset password without selecting the row.
    const menuBtn = page.getByRole('button', { name: T(l, 'menu.actions', { name: 'john' }) });
    await menuBtn.click();
    const menu = page.getByRole('menu', { name: T(l, 'menu.actions', { name: 'john' }) });
    await menu.getByRole('menuitem', { name: T(l, 'users.reset') }).waitFor();
    assert.equal(await menuBtn.getAttribute('aria-expanded'), 'true');
    await axe(page, `${l} row menu open`);
    if (l === 'en') await shot(page, l, 'row-menu');
    await page.keyboard.press('Escape');
    assert.equal(await menuBtn.getAttribute('aria-expanded'), 'false');
    await menuBtn.click();
    await menu.getByRole('menuitem', { name: T(l, 'users.reset') }).click();
    await page.getByRole('heading', { name: T(l, 'reset.title') }).waitFor();
    assert.match(page.url(), new RegExp(`#/reset/${ids.john}$`));
  }
  await setLanguage(page, 'en');
  assert.deepEqual(b.problems, []);
});
