// Issue 23: a staff account sets up an authenticator app in the page and signs
// in with it, in each locale. The QR code the browser drew is read back by
// zbarimg (zbar-tools) from a screenshot; codes come from oathtool
// (oath-toolkit). Every label is the locale's own; axe finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { startResetd, adminApi, launch, signInUi, readI18n, tmpDir, LOCALES, OUT } from '../harness.mjs';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const I18N = readI18n();
const PW = 'Lantern-Orchid-Basalt-6294';
let server;

before(async () => {
  server = await startResetd({});
  const admin = await adminApi(server.origin);
  for (const locale of LOCALES) {
    await admin.call('POST', '/users', {
      username: `tf-${locale.toLowerCase()}`, display_name: `Staff ${locale}`, email: `tf-${locale.toLowerCase()}@example.test`,
      role: 'helpdesk_admin', locale, mode: 'manual', password: PW, require_change: false, notify: [], notify_user: false,
    });
  }
  fs.mkdirSync(OUT, { recursive: true });
});

after(() => server?.stop());

const totp = (secret, offset = 0) => execFileSync('/usr/bin/oathtool',
  ['--totp', '-b', '--now', `@${Math.floor(Date.now() / 1000) + offset}`, secret], { encoding: 'utf8' }).trim();

async function axe(page, where) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  assert.deepEqual(res.violations.map((v) => `${where}: ${v.id} ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`), []);
}

for (const locale of LOCALES) {
  test(`${locale}: set up an authenticator app, then sign in with its code`, async () => {
    const t = I18N[locale];
    const user = `tf-${locale.toLowerCase()}`;
    const b = await launch(locale);
    try {
      const { page } = b;
      await page.goto(`${server.origin}/#/signin`);
      await signInUi(page, user, PW);
      await page.getByRole('link', { name: t['nav.secondFactor'] }).click();
      await page.getByRole('heading', { name: t['tf.title'] }).waitFor();
      await axe(page, 'second factor page');
      await page.getByLabel(t['pw.current']).fill(PW);
      await page.getByRole('button', { name: t['tf.start'] }).click();

      const qr = page.getByRole('img', { name: t['tf.qrLabel'] });
      await qr.waitFor();
      const secret = await page.locator('code[data-secret]').getAttribute('data-secret');
      const png = path.join(tmpDir('resetd-qr-'), 'qr.png');
      await qr.screenshot({ path: png });
      const uri = execFileSync('/usr/bin/zbarimg', ['-q', '--raw', png], { encoding: 'utf8' }).trim();
      assert.equal(uri, `otpauth://totp/resetd:${user}?secret=${secret}&issuer=resetd&algorithm=SHA1&digits=6&period=30`);
      await axe(page, 'enrolment');
      await page.screenshot({ path: path.join(OUT, `second-factor-enrol-${locale}.png`) });

      await page.getByLabel(t['tf.code']).fill(totp(secret));
      await page.getByRole('button', { name: t['tf.confirm'] }).click();
      await page.getByRole('heading', { name: t['tf.recoveryTitle'] }).waitFor();
      assert.equal(await page.locator('ol.recovery-codes li').count(), 10);
      await axe(page, 'recovery codes');

      // Sign out; the password now leads to the second step.
      await page.locator('#signout').click();
      await signInUi(page, user, PW);
      await page.getByRole('heading', { name: t['tf.stepTitle'] }).waitFor();
      await axe(page, 'second step');
      await page.getByLabel(t['tf.code']).fill('000000' === totp(secret, 30) ? '111111' : '000000');
      await page.getByRole('button', { name: t['tf.verify'] }).click();
      await page.getByText(t['err.invalid_second_factor']).first().waitFor();
      await page.getByLabel(t['tf.code']).fill(totp(secret, 30));
      await page.getByRole('button', { name: t['tf.verify'] }).click();
      await page.getByRole('heading', { name: I18N[locale]['users.title'] || t['nav.users'] }).first().waitFor();
      assert.deepEqual(b.problems, []);
      assert.ok(b.requests.every((u) => u.startsWith(server.origin)), 'a request left the appliance');
    } finally {
      await b.ctx.close();
    }
  });
}
