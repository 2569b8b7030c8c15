// Every page in each language: no missing or untranslated key, no raw key or
// unfilled placeholder on screen, <html lang> set, axe-core finds no
// violations, no horizontal overflow, no CSP violation; screenshots at
// 1024x600 and 1920x1080 go to output/<locale>/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startResetd, adminApi, ApiClient, launch, signInUi, readI18n, LOCALES, OUT, ADMIN_PASSWORD } from '../harness.mjs';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const I18N = readI18n();
const KEYS = new Set(Object.keys(I18N.en));
// Values that are the same in every language on purpose.
// time.zoned: "{time} ({zone})" is the same in English and Turkish (zh-TW uses full-width brackets).
const SAME_EVERYWHERE = /^(lang\.|set\.kind\.webhook$|set\.security\.tls$|set\.url$|time\.zoned$)/;
const SIZES = [{ width: 1024, height: 600 }, { width: 1920, height: 1080 }];

let server;
let admin;
const ids = {};

before(async () => {
  server = await startResetd({ users: [
    { username: 'alice', email: 'alice@example.test', display_name: 'Alice Example' },
    { username: 'bob', email: 'bob@example.test', display_name: 'Bob Builder', role: 'helpdesk_admin' },
    { username: 'ilker', email: 'ilker@example.test', display_name: 'İlker Işık', locale: 'tr-TR' },
    { username: 'meiling', email: 'meiling@example.test', display_name: '陳美玲', locale: 'zh-TW' },
  ],
  // The settings page then shows forward auth and PAM switched on, with their details.
  extraToml: '\n[forward_auth]\nenabled = true\nallowed_redirect_origins = ["https://wiki.appliance.example"]\n'
    + '[forward_auth.rules]\n"wiki.appliance.example" = ["global_admin", "user"]\n'
    + '\n[pam]\nenabled = true\nsocket = "{dataDir}.sock"\n' });
  admin = await adminApi(server.origin);
  for (const u of (await admin.call('GET', '/users?limit=50')).users) ids[u.username] = u.id;
  // One must-change user per language, for the forced change page.
  for (const l of LOCALES) {
    await admin.call('POST', '/users', { username: `temp-${l.toLowerCase()}`, display_name: 'Temp', email: `temp-${l}@example.test`,
      mode: 'manual', password: 'Saffron-Tundra-Piano-3141', require_change: true, notify: [], notify_user: false });
  }
});

after(() => server?.stop());

test('the three message files have the same keys, placeholders and real translations', () => {
  for (const l of LOCALES) {
    const d = I18N[l];
    assert.deepEqual(Object.keys(d).sort(), [...KEYS].sort(), `${l} keys`);
    for (const [k, v] of Object.entries(d)) {
      assert.ok(typeof v === 'string' && v.trim(), `${l} ${k} empty`);
      const ph = (s) => (s.match(/\{\w+\}/g) || []).sort().join();
      assert.equal(ph(v), ph(I18N.en[k]), `${l} ${k} placeholders`);
      if (l !== 'en' && !SAME_EVERYWHERE.test(k)) assert.notEqual(v, I18N.en[k], `${l} ${k} untranslated`);
    }
  }
});

async function check(b, locale, name, failures) {
  const { page } = b;
  await page.locator('main h1').first().waitFor();
  await page.waitForTimeout(350);
  const lang = await page.evaluate(() => document.documentElement.lang);
  if (lang !== locale) failures.push(`${locale} ${name}: html lang ${lang}`);
  const text = await page.evaluate(() => document.body.innerText);
  const raw = (text.match(/\b[a-zA-Z]+\.[a-zA-Z0-9_.-]+\b/g) || []).filter((w) => KEYS.has(w));
  if (raw.length) failures.push(`${locale} ${name}: raw keys on screen ${raw.join(', ')}`);
  const holes = text.match(/\{[a-z]+\}/gi);
  if (holes) failures.push(`${locale} ${name}: unfilled ${holes.join(', ')}`);
  if (locale !== 'en') {
    // English UI sentences must not show up on a translated page.
    const en = Object.entries(I18N.en).filter(([k, v]) => !SAME_EVERYWHERE.test(k) && v.length > 12 && !v.includes('{') && I18N[locale][k] !== v);
    const left = en.filter(([, v]) => text.includes(v)).map(([k]) => k);
    if (left.length) failures.push(`${locale} ${name}: English text of ${left.join(', ')}`);
  }
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  for (const v of res.violations) failures.push(`${locale} ${name}: axe ${v.id} (${v.impact}) ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  const dir = path.join(OUT, locale);
  fs.mkdirSync(dir, { recursive: true });
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.waitForTimeout(100);
    const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (over > 0) failures.push(`${locale} ${name}: ${over}px horizontal overflow at ${size.width}x${size.height}`);
    await page.screenshot({ path: path.join(dir, `${name}-${size.width}x${size.height}.png`) });
  }
  await page.setViewportSize(SIZES[0]);
}

for (const locale of LOCALES) {
  test(`every page in ${locale}`, async () => {
    const b = await launch(locale, SIZES[0]);
    const failures = [];
    const { page } = b;
    const go = async (hash) => { await page.goto(`${server.origin}/#${hash}`); };
    try {
      await go('/signin');
      await check(b, locale, 'signin', failures);
      // A failed sign-in shows a localized error.
      await signInUi(page, 'alice', 'not-the-password-at-all');
      await page.locator('.alert.error').waitFor();
      await check(b, locale, 'signin-error', failures);
      // Self-service off: no "Forgot password?", and the page says so.
      if (await page.locator('a[href="#/forgot"]').count()) failures.push(`${locale}: "Forgot password?" shown while self-service is off`);
      await go('/forgot');
      await check(b, locale, 'forgot-off', failures);
      await admin.call('PUT', '/settings/self-service', { enabled: true });
      await go('/signin');
      await page.locator('a[href="#/forgot"]').click();
      // Checked (axe, two viewport sizes, screenshots) before typing: the
      // resizes in check() sometimes lost the typed username.
      await check(b, locale, 'forgot', failures);
      await page.locator('input[name=username]').fill('alice');
      await page.locator('form button[type=submit]').click();
      await page.locator('input[name=code]').waitFor().catch(async (e) => {
        throw new Error(`${e.message}\npage shows: ${await page.locator('main').innerText()}`);
      });
      await page.locator('input[name=code]').fill('1234');
      await page.locator('input[name=new_password]').fill('Ember-Quill-Atlas-6021');
      await page.locator('input[name=again]').fill('Ember-Quill-Atlas-6021');
      await page.locator('form button[type=submit]').click();
      await page.locator('[aria-invalid=true]').waitFor();
      await check(b, locale, 'forgot-code', failures);
      await admin.call('PUT', '/settings/self-service', { enabled: false });
      await go('/set-password?token=nothing');
      await check(b, locale, 'set-password', failures);

      await go('/signin');
      await signInUi(page, `temp-${locale.toLowerCase()}`, 'Saffron-Tundra-Piano-3141');
      await page.locator('input[name=current_password]').waitFor();
      await page.locator('input[name=new_password]').fill('abc');
      await page.locator('.reasons li').first().waitFor();
      await check(b, locale, 'forced-change', failures);
      await page.locator('#signout').click();

      await page.locator('input[name=username]').waitFor();
      await signInUi(page, 'admin', ADMIN_PASSWORD);
      await page.locator('table.users tbody tr').first().waitFor();
      await check(b, locale, 'users', failures);
      await page.locator(`#sel-${ids.alice}`).check();
      await page.locator(`#sel-${ids.ilker}`).check();
      await check(b, locale, 'users-selected', failures);

      await go(`/reset/${ids.alice}`);
      await page.locator('.reset-options').waitFor();
      await check(b, locale, 'reset', failures);
      await page.locator('input[name=mode][value=manual]').check();
      await page.locator('input[name=password]').fill('alice123');
      await page.locator('.reasons li').first().waitFor();
      await check(b, locale, 'reset-manual', failures);
      await page.locator('input[name=mode][value=auto]').check();
      await page.locator('form button[type=submit]').click();
      await page.locator('.result').waitFor();
      await check(b, locale, 'reset-result', failures);

      await go(`/reset?ids=${ids.alice},${ids.ilker},${ids.meiling}`);
      await page.locator('.reset-options').waitFor();
      await check(b, locale, 'bulk-reset', failures);
      await page.locator('input[name=notify]').fill('');
      await page.locator('form button[type=submit]').click();
      await page.locator('.result').waitFor();
      await check(b, locale, 'bulk-result', failures);

      await go('/users/new');
      await check(b, locale, 'add-user', failures);
      await go('/users/import');
      await check(b, locale, 'csv-import', failures);
      await go(`/users/${ids.bob}`);
      await check(b, locale, 'edit-user', failures);
      await go('/users');
      await page.locator(`#sel-${ids.bob}`).check();
      await page.locator('.toolbar .btn.danger').click();
      await page.locator('dialog[open]').waitFor();
      await check(b, locale, 'delete-confirm', failures);
      await page.keyboard.press('Escape');

      for (const p of ['notifications', 'settings', 'audit', 'password', 'sessions']) {
        await go(`/${p}`);
        await check(b, locale, p, failures);
      }
      // A settings value out of range: the error sits next to its field.
      await go('/settings');
      await page.locator('input[name=min_length]').fill('7');
      await page.locator('input[name=min_length]').locator('xpath=ancestor::form').locator('button[type=submit]').click();
      await page.locator('input[name=min_length][aria-invalid=true]').waitFor();
      await check(b, locale, 'settings-error', failures);
      // The audit log filtered by an action.
      await go('/audit');
      await page.locator('select[name=action]').selectOption('sign_in');
      await page.locator('form.filters button[type=submit]').click();
      await page.locator('table.audit tbody tr td').first().waitFor();
      await check(b, locale, 'audit-filtered', failures);
      assert.deepEqual(b.problems, []);
    } finally {
      await b.ctx.close();
    }
    assert.deepEqual(failures, []);
  });
}

test('the language switcher changes the page and is remembered; Turkish case rules', async () => {
  const b = await launch('en', SIZES[0]);
  try {
    const { page } = b;
    await page.goto(`${server.origin}/#/signin`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Language').selectOption('tr-TR');
    await page.getByRole('heading', { name: 'Oturum aç' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Oturum aç' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'tr-TR');
    const r = await page.evaluate(async () => {
      const m = await import('/js/i18n.js');
      return { up: m.upper('istanbul ılık'), fold: [m.fold('İSTANBUL'), m.fold('ıstanbul'), m.fold('Istanbul')], date: m.date('2024-03-05T10:00:00Z') };
    });
    assert.equal(r.up, 'İSTANBUL ILIK');
    assert.deepEqual(r.fold, ['istanbul', 'istanbul', 'istanbul']);
    assert.match(r.date, /Mar|2024/);
  } finally {
    await b.ctx.close();
  }
});
