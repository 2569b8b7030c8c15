// Issue 21, the admin's workbench, second part: wording that matches what
// happened (item 11), times that name their zone (item 9), a directory that
// is tested before it is saved (item 3) and the keyboard path to Reset
// (item 10). Driven through the UI against the real binary in en, zh-TW and
// tr-TR, labels from the message files. Each failed on the code before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startResetd, adminApi, launchSignedInAdmin, sleep, readI18n, freePort, checkAxe as axe, setLanguage, shot } from '../harness.mjs';

const I18N = readI18n();
const T = (l, k, vars = {}) => I18N[l][k].replace(/\{(\w+)\}/g, (m, n) => (n in vars ? String(vars[n]) : m));
const LOCALES = ['en', 'zh-TW', 'tr-TR'];

let server;
let admin;
let b;
const ids = {};

async function inLanguage(page, l, hash) {
  await page.goto(`${server.origin}/#/users`);
  await setLanguage(page, l);
  await page.goto(`${server.origin}/${hash}`);
}

before(async () => {
  server = await startResetd({ adminEmail: 'admin@corp.example', users: [
    { username: 'john', email: 'john.smith@corp.example', display_name: 'John Smith' },
    { username: 'arjun', email: 'arjun@corp.example', display_name: 'Arjun Rao' },
    { username: 'mei', email: 'mei@corp.example', display_name: 'Mei Lin' },
  ] });
  admin = await adminApi(server.origin);
  for (const u of (await admin.call('GET', '/users?limit=50')).users) ids[u.username] = u.id;
  // The browser in Taipei (UTC+8), the appliance on UTC: the UI must show
  // the appliance's hours, as its mails do, and say so.
  b = await launchSignedInAdmin(server.origin, 'en', { width: 1024, height: 600 }, { timezoneId: 'Asia/Taipei' });
  await b.page.getByRole('heading', { name: 'Active users' }).waitFor();
});

after(async () => {
  await b?.ctx.close();
  server?.stop();
});

test('11. welcome mails are "Welcome"; relay failures in plain words with the next try', async () => {
  const { page } = b;
  const saved = await admin.call('GET', '/settings/relay');
  await admin.call('PUT', '/settings/relay', { kind: 'smtp', host: '127.0.0.1', port: 9, security: 'none' });
  try {
    await admin.call('POST', '/users', { username: 'wendy', display_name: 'Wendy Wu', email: 'wendy@corp.example', role: 'user', locale: 'en',
      mode: 'auto', delivery: 'password', require_change: true, notify: ['wendy.home@home.example'], notify_user: true });
    // The first try fails at once (nothing listens on port 9).
    for (let i = 0; i < 100; i++) {
      const r = await admin.call('GET', '/notifications');
      if ((r.notifications || r).some((n) => n.recipient === 'wendy.home@home.example' && n.attempts > 0)) break;
      await sleep(100);
    }
    for (const l of LOCALES) {
      await inLanguage(page, l, '#/notifications');
      await page.getByRole('heading', { name: T(l, 'notif.pageTitle') }).waitFor();
      const row = page.getByRole('row').filter({ hasText: 'wendy.home@home.example' });
      await row.getByText(T(l, 'kind.welcome_password')).waitFor();
      assert.equal(await row.getByText(T(l, 'kind.password'), { exact: true }).count(), 0, `${l}: a welcome is not "new password"`);
      await row.getByText(T(l, 'relay.refused')).waitFor();
      await row.getByText(T(l, 'relay.next', { when: '' }).replace(/[.。]$/, '').trim()).waitFor();
      await row.getByText(T(l, 'relay.own', { text: '' }).trim()).waitFor();
      assert.match(await row.innerText(), /refused|connect/i, `${l}: the relay's own text kept beside`);
      const notice = page.getByRole('row').filter({ hasText: 'wendy@corp.example' });
      await notice.getByText(T(l, 'kind.welcome_notice')).waitFor();
      await axe(page, `${l} notifications with a failed try`);
      await shot(page, l, 'notifications-relay-failed');
    }
  } finally {
    await admin.call('PUT', '/settings/relay', { kind: saved.kind });
  }
  await setLanguage(page, 'en');
});

test('11. the audit counts "1 entry" and its Action filter knows the directory actions', async () => {
  const { page } = b;
  for (const l of LOCALES) {
    await inLanguage(page, l, '#/audit');
    await page.getByRole('heading', { name: T(l, 'audit.title') }).waitFor();
    const action = page.getByLabel(T(l, 'audit.action'));
    for (const a of ['directory_test', 'directory_sync', 'directory_role', 'directory_user_removed', 'settings_change', 'password_reset_recovered']) {
      assert.equal(await action.locator('option', { hasText: T(l, `act.${a}`) }).count(), 1, `${l}: ${a} in the Action filter`);
    }
    await action.selectOption({ label: T(l, 'act.user_create_password') });
    await page.getByRole('button', { name: T(l, 'audit.apply') }).click();
    await page.getByText(T(l, 'audit.count.one', { n: 1 }), { exact: true }).waitFor();
    if (l === 'en') assert.equal(await page.getByText('1 entries').count(), 0);
    await axe(page, `${l} audit one entry`);
  }
  await setLanguage(page, 'en');
});

test('11. a link is never "the only time the password is shown"; no "copy it" with nothing to copy', async () => {
  const { page } = b;
  for (const l of LOCALES) {
    // Several users by link: the words speak of links.
    await inLanguage(page, l, `#/reset?ids=${ids.john},${ids.arjun}`);
    await page.getByRole('heading', { name: T(l, 'reset.title') }).waitFor();
    await page.getByLabel(T(l, 'reset.deliverLink')).check();
    await page.getByRole('button', { name: T(l, 'reset.submit'), exact: true }).click();
    await page.getByRole('heading', { name: T(l, 'result.bulkDone', { n: 2 }) }).waitFor();
    await page.getByText(T(l, 'result.linksOnce')).waitFor();
    assert.equal(await page.getByText(T(l, 'result.once')).count(), 0, `${l}: "the password is shown" for links`);
    await axe(page, `${l} bulk link result`);
    // A typed password, mailed to nobody: nothing on screen to copy.
    await inLanguage(page, l, `#/reset/${ids.mei}`);
    await page.getByRole('heading', { name: T(l, 'reset.title') }).waitFor();
    await page.getByLabel(T(l, 'reset.manual')).check();
    await page.getByLabel(T(l, 'reset.password'), { exact: true }).fill(`Walnut-Harbor-Violet-${LOCALES.indexOf(l)}718`);
    await page.getByLabel(T(l, 'reset.deliverPassword'), { exact: true }).check();
    await page.getByRole('button', { name: T(l, 'reset.submit'), exact: true }).click();
    await page.getByRole('heading', { name: T(l, 'result.done1', { name: 'mei' }) }).waitFor();
    await page.getByText(T(l, 'result.notMailedTyped')).waitFor();
    assert.equal(await page.getByText(T(l, 'result.notMailed')).count(), 0, `${l}: "copy it" with nothing to copy`);
    await axe(page, `${l} typed password result`);
    if (l === 'en') await shot(page, l, 'reset-typed-not-mailed');
  }
  await setLanguage(page, 'en');
});

// The hour of an RFC 3339 UTC time as each language's clock writes it.
const clock = (l, iso) => {
  const d = new Date(iso);
  const H = d.getUTCHours();
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const h12 = H % 12 || 12;
  return l === 'tr-TR' ? `${String(H).padStart(2, '0')}:${mm}` : l === 'zh-TW' ? `${H < 12 ? '上午' : '下午'}${h12}:${mm}` : `${h12}:${mm} ${H < 12 ? 'AM' : 'PM'}`;
};

test('9. times name their zone: the result, the slip, the lists, as the mail does', async () => {
  const { page } = b;
  const h = await (await fetch(`${server.origin}/api/v1/healthz`)).json();
  assert.equal(h.time_zone.offset_s, 0, 'the test appliance runs on UTC (its mails say "(UTC)")');
  assert.ok(h.time_zone.name, 'the appliance names its zone');
  for (const l of LOCALES) {
    await inLanguage(page, l, `#/reset/${ids.john}`);
    await page.getByRole('heading', { name: T(l, 'reset.title') }).waitFor();
    await page.getByLabel(T(l, 'reset.deliverPassword'), { exact: true }).check();
    await page.getByRole('button', { name: T(l, 'reset.submit'), exact: true }).click();
    await page.getByRole('heading', { name: T(l, 'result.done1', { name: 'john' }) }).waitFor();
    const u = await admin.call('GET', `/users/${ids.john}`);
    const exp = (u.user || u).password_expires_at;
    const zoned = T(l, 'time.zoned', { time: '', zone: 'UTC' }).trim();
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(zoned), `${l}: the result names the zone: ${text}`);
    assert.ok(text.includes(clock(l, exp)), `${l}: the result shows the appliance's hour ${clock(l, exp)}: ${text}`);
    // The slip carries the same.
    await page.getByRole('button', { name: T(l, 'result.print') }).evaluate((el) => { window.print = () => {}; el.click(); });
    const slipText = await page.locator('#slip').textContent();
    assert.ok(slipText.includes(zoned) && slipText.includes(clock(l, exp)), `${l}: the slip: ${slipText}`);
    await axe(page, `${l} result with zone`);
    await shot(page, l, 'reset-result-zone');
    // A list: the notifications' times.
    await page.goto(`${server.origin}/#/notifications`);
    await page.getByRole('heading', { name: T(l, 'notif.pageTitle') }).waitFor();
    await page.getByRole('row').nth(1).waitFor();
    assert.ok((await page.locator('main table').innerText()).includes(zoned), `${l}: notifications name the zone`);
  }
  await setLanguage(page, 'en');
});

test('3. Directory Save tests first, says what failed in words, and saves only when told to', async () => {
  const { page } = b;
  const dead = `ldaps://127.0.0.1:${await freePort()}/`;
  for (const l of LOCALES) {
    await inLanguage(page, l, '#/settings');
    const dir = page.getByRole('region', { name: T(l, 'settings.directory'), exact: true });
    await dir.waitFor();
    await dir.getByLabel(T(l, 'dir.kind')).selectOption('ldap');
    const url = dir.getByLabel(T(l, 'dir.url'));
    await url.fill(dead);
    await dir.getByLabel(T(l, 'dir.bind_dn')).fill('cn=resetd,dc=example,dc=test');
    await dir.getByLabel(T(l, 'dir.bind_password')).fill('Service-Account-Pw-1');
    await dir.getByLabel(T(l, 'dir.users_base')).fill('ou=people,dc=example,dc=test');
    await dir.getByLabel(T(l, 'dir.timeout_s')).fill('3');
    const save = dir.getByRole('button', { name: T(l, 'common.save'), exact: true });
    await save.click();
    await dir.getByText(T(l, 'dir.saveTestFailed')).waitFor();
    assert.equal(await url.getAttribute('aria-invalid'), 'true', `${l}: the URL is marked`);
    assert.ok(await dir.getByText(T(l, 'dir.cat.refused')).count() >= 1, `${l}: what failed, in words`);
    await dir.getByRole('button', { name: T(l, 'dir.saveAnyway') }).waitFor();
    assert.equal(await dir.getByText(T(l, 'settings.saved')).count(), 0);
    assert.equal((await admin.call('GET', '/settings/directory')).kind, 'none', `${l}: nothing saved`);
    await axe(page, `${l} directory save refused`);
    await shot(page, l, 'directory-save-refused');
    // An empty URL: the field says so, not "config: directory.url = …".
    await url.fill('');
    await save.click();
    await dir.getByText(T(l, 'dir.bad.url')).waitFor();
    assert.equal(await url.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByText('config: directory.url').count(), 0, `${l}: raw config text shown`);
    assert.ok(await page.evaluate(() => document.activeElement?.name === 'url'), `${l}: focus on the URL`);
    await axe(page, `${l} directory empty url`);
    if (l === 'en') await shot(page, l, 'directory-empty-url');
  }
  // Saved anyway, on purpose: then it is in use, and said so.
  const dir = page.getByRole('region', { name: T('tr-TR', 'settings.directory'), exact: true });
  await dir.getByLabel(T('tr-TR', 'dir.url')).fill(dead);
  await dir.getByRole('button', { name: T('tr-TR', 'common.save'), exact: true }).click();
  await dir.getByRole('button', { name: T('tr-TR', 'dir.saveAnyway') }).click();
  await dir.getByText(T('tr-TR', 'settings.saved')).waitFor();
  assert.equal((await admin.call('GET', '/settings/directory')).kind, 'ldap');
  await admin.call('PUT', '/settings/directory', { kind: 'none' });
  await setLanguage(page, 'en');
});

// Whether an element lies wholly inside the 1024×600 viewport.
const onScreen = (loc) => loc.evaluate((el) => {
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth && r.height > 0;
});

test('10. keyboard: a skip link first; after Enter on Reset password the focused field and Reset are on screen, with a focus ring', async () => {
  const { page } = b;
  for (const l of LOCALES) {
    await inLanguage(page, l, '#/users');
    await page.getByRole('heading', { name: T(l, 'users.title') }).waitFor();
    // "Skip to main content" comes before everything in the bar (Shift+Tab
    // from its first link reaches it), is shown when focused, and Enter goes
    // past the menu.
    await page.getByRole('link', { name: T(l, 'app.name'), exact: true }).focus();
    await page.keyboard.press('Shift+Tab');
    const skip = page.getByRole('link', { name: T(l, 'app.skip') });
    assert.ok(await skip.evaluate((el) => el === document.activeElement), `${l}: the skip link is the first stop`);
    assert.ok(await onScreen(skip), `${l}: the focused skip link is visible`);
    await page.keyboard.press('Enter');
    assert.ok(await page.evaluate(() => !!document.activeElement?.closest('main')), `${l}: Enter goes to the main content`);
    assert.match(page.url(), /#\/users$/, `${l}: the skip link is no route`);
    await axe(page, `${l} skip link used`);
    // From the user's details, Enter on "Reset password".
    await page.getByRole('button', { name: 'John Smith' }).click();
    const pane = page.getByRole('dialog', { name: 'John Smith' });
    await pane.getByRole('link', { name: T(l, 'users.reset') }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: T(l, 'reset.title') }).waitFor();
    const to = page.getByLabel(T(l, 'reset.recipientsLink'));
    await page.waitForFunction(() => document.activeElement?.name === 'notify');
    await sleep(200);
    assert.ok(await onScreen(to), `${l}: the focused recipients field is on screen`);
    const ring = await to.evaluate((el) => { const s = getComputedStyle(el); return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) }; });
    assert.ok(ring.style !== 'none' && ring.width >= 2, `${l}: a visible focus ring ${JSON.stringify(ring)}`);
    assert.ok(await onScreen(page.getByRole('button', { name: T(l, 'reset.submit'), exact: true })), `${l}: Reset on screen without scrolling`);
    await axe(page, `${l} reset by keyboard`);
    await shot(page, l, 'reset-keyboard');
  }
  await setLanguage(page, 'en');
});
