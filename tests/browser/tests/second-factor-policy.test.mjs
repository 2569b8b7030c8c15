// Issue 23: the second-factor policy in the page, in each locale. A helpdesk
// admin whose role requires a factor lands on "Second factor" and nowhere else
// until one is set up, then goes on; then makes new recovery codes (no
// "remove" while required). A password admin (optional) removes the app.
// Codes come from oathtool; axe finds nothing in any of the new form states.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startResetd, adminApi, launch, signInUi, readI18n, checkAxe, shot, LOCALES } from '../harness.mjs';

const I18N = readI18n();
const PW = 'Lantern-Orchid-Basalt-6294';
const TOML = '\n[second_factor]\nenabled = true\nglobal_admin = "optional"\nhelpdesk_admin = "required"\n';
let server;

before(async () => {
  server = await startResetd({ extraToml: TOML });
  const admin = await adminApi(server.origin);
  for (const locale of LOCALES) {
    for (const [prefix, role] of [['req', 'helpdesk_admin'], ['opt', 'password_admin']]) {
      const username = `${prefix}-${locale.toLowerCase()}`;
      await admin.call('POST', '/users', {
        username, display_name: `Staff ${locale}`, email: `${username}@example.test`, role, locale,
        mode: 'manual', password: PW, require_change: false, notify: [], notify_user: false,
      });
    }
  }
});

after(() => server?.stop());

const totp = (secret, offset = 0) => execFileSync('/usr/bin/oathtool',
  ['--totp', '-b', '--now', `@${Math.floor(Date.now() / 1000) + offset}`, secret], { encoding: 'utf8' }).trim();

// Sets up the app on the page already showing "Second factor"; returns [secret, codes].
async function enrol(page, t) {
  await page.getByLabel(t['pw.current']).fill(PW);
  await page.getByRole('button', { name: t['tf.start'] }).click();
  const secret = await page.locator('code[data-secret]').getAttribute('data-secret');
  await page.getByLabel(t['tf.code']).fill(totp(secret));
  await page.getByRole('button', { name: t['tf.confirm'] }).click();
  await page.getByRole('heading', { name: t['tf.recoveryTitle'] }).waitFor();
  const codes = await page.locator('ol.recovery-codes li').allTextContents();
  assert.equal(codes.length, 10);
  return [secret, codes];
}

for (const locale of LOCALES) {
  test(`${locale}: a required factor is set up before anything else; new recovery codes; an optional one removed`, async () => {
    const t = I18N[locale];
    const b = await launch(locale);
    try {
      const { page } = b;
      await page.goto(`${server.origin}/#/signin`);
      await signInUi(page, `req-${locale.toLowerCase()}`, PW);
      await page.getByText(t['tf.requiredNote']).waitFor();
      assert.equal(await page.locator('#nav').isHidden(), true);
      await checkAxe(page, 'enrolment required');
      await shot(page, locale, 'second-factor-required');
      // typing another page's address leads back here
      await page.goto(`${server.origin}/#/users`);
      await page.getByText(t['tf.requiredNote']).waitFor();
      const [, codes] = await enrol(page, t);
      await checkAxe(page, 'recovery codes after a required enrolment');
      await page.getByRole('button', { name: t['tf.continue'] }).click();
      await page.getByRole('link', { name: t['nav.secondFactor'] }).waitFor();

      // the manage form: no "remove" while required, wrong code refused, new codes with a recovery code
      await page.getByRole('link', { name: t['nav.secondFactor'] }).click();
      await page.getByText(t['tf.removeRequired']).waitFor();
      assert.equal(await page.getByRole('button', { name: t['tf.remove'] }).count(), 0);
      await checkAxe(page, 'manage (required)');
      await page.getByLabel(t['pw.current']).fill(PW);
      await page.getByLabel(t['tf.codeOrRecovery']).fill('9-aaaaa-bbbbb');
      await page.getByRole('button', { name: t['tf.renew'] }).click();
      await page.getByText(t['err.wrong_second_factor']).first().waitFor();
      await checkAxe(page, 'manage: wrong code');
      await page.getByLabel(t['pw.current']).fill(PW);
      await page.getByLabel(t['tf.codeOrRecovery']).fill(codes[2]);
      await page.getByRole('button', { name: t['tf.renew'] }).click();
      await page.getByText(t['tf.renewed']).first().waitFor();
      const fresh = await page.locator('ol.recovery-codes li').allTextContents();
      assert.equal(fresh.length, 10);
      assert.ok(!fresh.some((c) => codes.includes(c)));
      await checkAxe(page, 'new recovery codes');
      await shot(page, locale, 'second-factor-renewed');
      await page.locator('#signout').click();

      // optional: set up, then removed from the page
      await signInUi(page, `opt-${locale.toLowerCase()}`, PW);
      await page.getByRole('link', { name: t['nav.secondFactor'] }).click();
      await page.getByRole('button', { name: t['tf.start'] }).waitFor();
      assert.equal(await page.getByText(t['tf.requiredNote']).count(), 0);
      const [secret] = await enrol(page, t);
      await page.reload();  // the same address: the link would not redraw it
      await page.getByRole('button', { name: t['tf.remove'] }).waitFor();
      await checkAxe(page, 'manage (optional)');
      await page.getByLabel(t['pw.current']).fill(PW);
      await page.getByLabel(t['tf.codeOrRecovery']).fill(totp(secret, 30));
      await page.getByRole('button', { name: t['tf.remove'] }).click();
      await page.getByText(t['tf.removed']).waitFor();
      await page.getByRole('button', { name: t['tf.start'] }).waitFor();
      await checkAxe(page, 'removed');
      assert.deepEqual(b.problems, []);
      assert.ok(b.requests.every((u) => u.startsWith(server.origin)), 'a request left the appliance');
    } finally {
      await b.ctx.close();
    }
  });
}
