// Issue 23: "Move to a new phone" in each locale. A staff account whose role
// requires a second factor already has an authenticator app; on "Second
// factor" it types the password and the old app's code, scans the new QR code
// (read back by zbarimg from a screenshot) and confirms with the new app's
// first code. Then sign-in takes the new app's code and refuses the old app's,
// nor the old recovery codes, and the recovery codes shown are new ones.
// Until the new app's first code the old app still signs in (checked through
// the API, beside the browser). Controls are found by their
// label or role in the locale's own words; axe finds nothing.
//
// The service runs on the test clock: each phase moves it on by two TOTP steps,
// so every code typed is one of a step nobody has used yet. The old app's code
// refused at the end would have been taken before the move (as the sign-in at
// the start shows), not refused as a replay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startResetd, adminApi, ApiClient, launch, signInUi, readI18n, checkAxe, shot, tmpDir, LOCALES } from '../harness.mjs';

const I18N = readI18n();
const PW = 'Juniper-Copper-Glacier-3817';
let server;
let offset = 0;  // seconds the service's clock is ahead of this machine's
const old = {};  // locale -> { secret, codes } of the app set up before the test

// A code of `secret` at the service's current time.
const totp = (secret) => execFileSync('/usr/bin/oathtool',
  ['--totp', '-b', '--now', `@${Math.floor(Date.now() / 1000) + offset}`, secret], { encoding: 'utf8' }).trim();
// Two steps on: no code typed before is in the window any more.
const nextSteps = () => { offset += 60; server.setClock(offset); };

before(async () => {
  server = await startResetd({
    testClock: true,
    extraToml: '\n[second_factor]\nenabled = true\nglobal_admin = "optional"\nhelpdesk_admin = "required"\n',
  });
  const admin = await adminApi(server.origin);
  for (const locale of LOCALES) {
    const username = `nph-${locale.toLowerCase()}`;
    await admin.call('POST', '/users', {
      username, display_name: `Staff ${locale}`, email: `${username}@example.test`,
      role: 'helpdesk_admin', locale, mode: 'manual', password: PW, require_change: false, notify: [], notify_user: false,
    });
    // the old phone: set up through the API (the enrolment page has its own test)
    const c = new ApiClient(server.origin);
    const s = await c.signIn(username, PW);
    assert.equal(s.second_factor_enrolment_required, true);
    const e = await c.call('POST', '/session/second-factor/totp', { current_password: PW });
    const r = await c.call('POST', '/session/second-factor/totp/confirm', { code: totp(e.secret) });
    assert.equal(r.recovery_codes.length, 10);
    old[locale] = { secret: e.secret, codes: r.recovery_codes };
  }
});

after(() => server?.stop());

// The second step of sign-in with `code`.
async function secondStep(page, t, code) {
  await page.getByRole('heading', { name: t['tf.stepTitle'] }).waitFor();
  await page.getByLabel(t['tf.code']).fill(code);
  await page.getByRole('button', { name: t['tf.verify'] }).click();
}

for (const locale of LOCALES) {
  test(`${locale}: move the authenticator app to a new phone`, async () => {
    const t = I18N[locale];
    const user = `nph-${locale.toLowerCase()}`;
    const b = await launch(locale);
    try {
      const { page } = b;
      const main = page.getByRole('main');
      // the old app signs in
      nextSteps();
      await page.goto(`${server.origin}/#/signin`);
      await signInUi(page, user, PW);
      await secondStep(page, t, totp(old[locale].secret));
      await page.getByRole('link', { name: t['nav.secondFactor'] }).click();
      await page.getByRole('heading', { name: t['tf.title'] }).waitFor();
      await page.getByText(t['tf.replaceHint']).waitFor();
      await checkAxe(page, `${locale} second factor, app set up`);

      // "Move to a new phone" with the password and the old app's code
      nextSteps();
      await main.getByLabel(t['pw.current']).fill(PW);
      await main.getByLabel(t['tf.codeOrRecovery']).fill(totp(old[locale].secret));
      await main.getByRole('button', { name: t['tf.replace'], exact: true }).click();
      const qr = main.getByRole('img', { name: t['tf.qrLabel'] });
      await qr.waitFor();
      await main.getByRole('heading', { name: t['tf.scanTitle'] }).waitFor();
      const png = path.join(tmpDir('resetd-qr-'), 'qr.png');
      await qr.screenshot({ path: png });
      const uri = execFileSync('/usr/bin/zbarimg', ['-q', '--raw', png], { encoding: 'utf8' }).trim();
      const m = /^otpauth:\/\/totp\/resetd:([^?]+)\?secret=([A-Z2-7]+)&issuer=resetd&algorithm=SHA1&digits=6&period=30$/.exec(uri);
      assert.ok(m, `QR code: ${uri}`);
      assert.equal(m[1], user);
      const secret = m[2];
      assert.notEqual(secret, old[locale].secret, 'the new phone got the old secret');
      // the secret to type by hand is the one in the QR code, in groups of four
      await main.getByText(secret.replace(/(.{4})/g, '$1 ').trim(), { exact: true }).waitFor();
      await checkAxe(page, `${locale} new phone's QR code`);
      await shot(page, locale, 'second-factor-new-phone');

      // until then the old app signs in (elsewhere), the new one nobody
      nextSteps();
      const other = new ApiClient(server.origin);
      const { pending_token: p1 } = await other.signIn(user, PW);
      await assert.rejects(other.call('POST', '/session/second-factor', { pending_token: p1, code: totp(secret) }),
        /-> 401 .*invalid_second_factor/);
      const { pending_token: p2 } = await other.signIn(user, PW);
      await other.call('POST', '/session/second-factor', { pending_token: p2, code: totp(old[locale].secret) });

      // the new app's first code swaps the two
      // in the words of a move, not of a first setup
      await main.getByText(t['tf.replaceConfirmHint']).waitFor();
      assert.equal(await main.getByRole('button', { name: t['tf.confirm'], exact: true }).count(), 0);
      await main.getByLabel(t['tf.code']).fill(totp(secret));
      await main.getByRole('button', { name: t['tf.replaceConfirm'], exact: true }).click();
      await main.getByRole('heading', { name: t['tf.recoveryTitle'] }).waitFor();
      await main.getByRole('status').filter({ hasText: t['tf.replaced'] }).waitFor();
      const codes = (await main.getByRole('listitem').allTextContents()).map((x) => x.trim());
      assert.equal(codes.length, 10, `recovery codes: ${codes}`);
      assert.equal(new Set(codes).size, 10);
      assert.deepEqual(codes.filter((c) => old[locale].codes.includes(c)), [], 'old recovery codes shown again');
      await checkAxe(page, `${locale} new phone confirmed`);
      await shot(page, locale, 'second-factor-new-phone-confirmed');

      // sign-in now refuses the old app's code (at a step it never used) and takes the new one's
      await page.getByRole('banner').getByRole('button', { name: t['nav.signout'] }).click();
      nextSteps();
      await signInUi(page, user, PW);
      await secondStep(page, t, totp(old[locale].secret));
      await page.getByText(t['err.invalid_second_factor']).first().waitFor();
      // and the old recovery codes are out too
      await page.getByRole('button', { name: t['tf.useRecovery'] }).click();
      await page.getByLabel(t['tf.recoveryCode']).fill(old[locale].codes[5]);
      await page.getByRole('button', { name: t['tf.verify'] }).click();
      await page.getByText(t['err.invalid_second_factor']).first().waitFor();
      await page.getByRole('button', { name: t['tf.useCode'] }).click();
      await secondStep(page, t, totp(secret));
      await page.getByRole('link', { name: t['nav.secondFactor'] }).waitFor();
      await page.getByRole('heading', { name: t['tf.stepTitle'] }).waitFor({ state: 'detached' });
      assert.deepEqual(b.problems, []);
      assert.ok(b.requests.every((u) => u.startsWith(server.origin)), 'a request left the appliance');
    } finally {
      await b.ctx.close();
    }
  });
}
