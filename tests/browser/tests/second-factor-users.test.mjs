// Issue 23 item 4: a plain user (role `user`) sets up an authenticator app on
// the users' side, in each locale. Sent by a proxy from a two_factor host, the
// sign-in lands on "Second factor" (the host would only answer 403) and goes on
// to the site once the app is set up; then sign-in asks the code and the user
// makes new recovery codes. Codes come from oathtool; axe finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startResetd, adminApi, launch, signInUi, readI18n, checkAxe, shot, LOCALES } from '../harness.mjs';

const I18N = readI18n();
const PW = 'Harbor-Thistle-Cobalt-5183';
const SITE = 'https://secure.example/docs/page';
let server;

before(async () => {
  server = await startResetd({
    extraToml: '\n[forward_auth]\nenabled = true\nallowed_redirect_origins = ["https://secure.example"]\n'
      + 'two_factor = ["secure.example"]\n',
  });
  const admin = await adminApi(server.origin);
  for (const locale of LOCALES) {
    await admin.call('POST', '/users', {
      username: `u2f-${locale.toLowerCase()}`, display_name: `User ${locale}`, email: `u2f-${locale.toLowerCase()}@example.test`,
      role: 'user', locale, mode: 'manual', password: PW, require_change: false, notify: [], notify_user: false,
    });
  }
});

after(() => server?.stop());

const totp = (secret, offset = 0) => execFileSync('/usr/bin/oathtool',
  ['--totp', '-b', '--now', `@${Math.floor(Date.now() / 1000) + offset}`, secret], { encoding: 'utf8' }).trim();

for (const locale of LOCALES) {
  test(`${locale}: a plain user sets up an app for a two_factor site, signs in with it, renews codes`, async () => {
    const t = I18N[locale];
    const user = `u2f-${locale.toLowerCase()}`;
    const b = await launch(locale);
    try {
      const { page } = b;
      // the protected site itself, stood in for by the test (nothing leaves the machine)
      await page.route('https://secure.example/**', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<title>site</title>' }));
      await page.goto(`${server.origin}/?rd=${encodeURIComponent(SITE)}#/signin`);
      await signInUi(page, user, PW);
      await page.getByRole('heading', { name: t['tf.title'] }).waitFor();
      await page.getByText(t['tf.siteNeeds']).waitFor();
      assert.ok(await page.getByRole('link', { name: t['nav.secondFactor'] }).isVisible(), 'no Second factor in the users\' menu');
      assert.equal(await page.getByRole('link', { name: t['nav.users'] }).isVisible(), false);
      await checkAxe(page, 'users\' second factor');
      await shot(page, locale, 'second-factor-user');

      await page.getByLabel(t['pw.current']).fill(PW);
      await page.getByRole('button', { name: t['tf.start'] }).click();
      await page.getByRole('img', { name: t['tf.qrLabel'] }).waitFor();
      const secret = await page.locator('code[data-secret]').getAttribute('data-secret');
      await checkAxe(page, 'users\' enrolment');
      await page.getByLabel(t['tf.code']).fill(totp(secret));
      await page.getByRole('button', { name: t['tf.confirm'] }).click();
      await page.getByRole('heading', { name: t['tf.recoveryTitle'] }).waitFor();
      const codes = await page.locator('ol.recovery-codes li').allTextContents();
      assert.equal(codes.length, 10);
      await checkAxe(page, 'users\' recovery codes');
      await page.getByRole('button', { name: t['tf.toSite'] }).click();
      await page.waitForURL(SITE);

      // back on resetd: sign out; the password now leads to the app's code
      await page.goto(`${server.origin}/#/password`);
      await page.locator('#signout').click();
      await signInUi(page, user, PW);
      await page.getByRole('heading', { name: t['tf.stepTitle'] }).waitFor();
      await page.getByLabel(t['tf.code']).fill(totp(secret, 30));
      await page.getByRole('button', { name: t['tf.verify'] }).click();
      await page.getByRole('link', { name: t['nav.secondFactor'] }).click();
      await page.getByText(t['tf.active']).waitFor();
      await checkAxe(page, 'users\' manage');
      await page.getByLabel(t['pw.current']).fill(PW);
      await page.getByLabel(t['tf.codeOrRecovery']).fill(codes[4]);
      await page.getByRole('button', { name: t['tf.renew'] }).click();
      await page.getByRole('status').filter({ hasText: t['tf.renewed'] }).waitFor();
      const fresh = await page.locator('ol.recovery-codes li').allTextContents();
      assert.equal(fresh.length, 10);
      assert.ok(!fresh.some((c) => codes.includes(c)), 'old recovery codes came back');
      await checkAxe(page, 'users\' new codes');
      assert.deepEqual(b.problems, []);
      assert.ok(b.requests.every((u) => u.startsWith(server.origin) || u.startsWith('https://secure.example/')),
        'a request left the appliance');
    } finally {
      await b.ctx.close();
    }
  });
}
