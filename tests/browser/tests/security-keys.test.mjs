// Issue 23: a staff account adds a security key (WebAuthn) in the page and signs
// in with password + key, in each locale, with Chromium's virtual authenticator
// (CDP WebAuthn domain). The page is opened on a host name (resetd.test, mapped
// to 127.0.0.1) over resetd's self-signed HTTPS: browsers refuse WebAuthn on an
// IP address, and on the IP the page says so. An answer with a bogus signature
// (the virtual authenticator's switch) is refused by resetd. Labels are the locale's own;
// axe finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { startResetd, adminApi, launch, signInUi, readI18n, LOCALES } from '../harness.mjs';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const I18N = readI18n();
const PW = 'Harbor-Quince-Mosaic-4170';
let server;
let port;

before(async () => {
  // No public_url: the page's own host (name or IP) is its origin.
  server = await startResetd({ tls: true, publicUrl: false });
  port = new URL(server.origin).port;
  const admin = await adminApi(server.origin);
  for (const locale of LOCALES) {
    await admin.call('POST', '/users', {
      username: `skr-${locale.toLowerCase()}`, display_name: `Remover ${locale}`, email: `skr-${locale.toLowerCase()}@example.test`,
      role: 'helpdesk_admin', locale, mode: 'manual', password: PW, require_change: false, notify: [], notify_user: false,
    });
    await admin.call('POST', '/users', {
      username: `sk-${locale.toLowerCase()}`, display_name: `Staff ${locale}`, email: `sk-${locale.toLowerCase()}@example.test`,
      role: 'helpdesk_admin', locale, mode: 'manual', password: PW, require_change: false, notify: [], notify_user: false,
    });
  }
});

after(() => server?.stop());

async function axe(page, where) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  assert.deepEqual(res.violations.map((v) => `${where}: ${v.id} ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`), []);
}

const AUTH = { protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: true, isUserVerified: true };

for (const locale of LOCALES) {
  test(`${locale}: add a security key, sign in with it; another key is refused; by IP the page says keys need the name`, async () => {
    const t = I18N[locale];
    const user = `sk-${locale.toLowerCase()}`;
    const named = `https://resetd.test:${port}`;
    const b = await launch(locale, { width: 1024, height: 700 },
      { ignoreHTTPSErrors: true, args: ['--host-resolver-rules=MAP resetd.test 127.0.0.1'] });
    try {
      const { page } = b;
      const cdp = await b.ctx.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId: first } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTH });

      await page.goto(`${named}/#/signin`);
      await signInUi(page, user, PW);
      await page.getByRole('link', { name: t['nav.secondFactor'] }).click();
      await page.getByRole('heading', { name: t['sk.title'] }).waitFor();
      await axe(page, 'second factor page with keys');
      await page.locator('input[name=sk_current_password]').fill(PW);
      await page.getByLabel(t['sk.name']).fill('blue key');
      await page.getByRole('button', { name: t['sk.add'] }).click();
      await page.getByText(t['sk.added']).first().waitFor();
      await page.locator('ul.security-keys li', { hasText: 'blue key' }).waitFor();
      const [cred] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId: first })).credentials;
      assert.equal(cred.rpId, 'resetd.test');

      // A key whose signature is wrong (the virtual authenticator's bogus-signature
      // switch; CDP's addCredential refuses imported keys in this Chromium): resetd refuses it.
      await page.locator('#signout').click();
      await cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId: first, isBogusSignature: true });
      await signInUi(page, user, PW);
      await page.getByRole('heading', { name: t['tf.stepTitle'] }).waitFor();
      await page.getByText(t['sk.stepIntro']).waitFor();
      await axe(page, 'second step with a key');
      await page.getByRole('button', { name: t['sk.use'] }).click();
      await page.getByText(t['err.invalid_second_factor']).first().waitFor();
      assert.equal(await page.locator('#signout').isVisible(), false);

      await cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId: first });

      // The real key.
      await page.getByRole('button', { name: t['sk.use'] }).click();
      await page.locator('#signout').waitFor();
      await page.getByRole('link', { name: t['nav.secondFactor'] }).waitFor();

      // By IP: no key there; the page says why.
      await page.locator('#signout').click();
      await page.goto(`https://127.0.0.1:${port}/#/signin`);
      await signInUi(page, user, PW);
      await page.getByText(t['sk.ipNote']).waitFor();
      assert.equal(await page.getByRole('button', { name: t['sk.use'] }).count(), 0);
      await axe(page, 'second step by IP');
      assert.deepEqual(b.problems, []);
      assert.ok(b.requests.every((u) => u.startsWith(named) || u.startsWith(`https://127.0.0.1:${port}`)), 'a request left the appliance');
    } finally {
      await b.ctx.close();
    }
  });
}

for (const locale of LOCALES) {
  test(`${locale}: remove one of two keys with the Remove button beside it`, async () => {
    const t = I18N[locale];
    const user = `skr-${locale.toLowerCase()}`;
    const named = `https://resetd.test:${port}`;
    const b = await launch(locale, { width: 1024, height: 700 },
      { ignoreHTTPSErrors: true, args: ['--host-resolver-rules=MAP resetd.test 127.0.0.1'] });
    try {
      const { page } = b;
      const cdp = await b.ctx.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await page.goto(`${named}/#/signin`);
      await signInUi(page, user, PW);
      await page.getByRole('link', { name: t['nav.secondFactor'] }).click();
      for (const name of ['blue key', 'red key']) {
        // one virtual authenticator a key: a key already added is excluded at creation
        const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTH });
        await page.getByRole('heading', { name: t['sk.title'], exact: true }).waitFor();
        await page.locator('input[name=sk_current_password]').fill(PW);
        await page.getByLabel(t['sk.name']).fill(name);
        await page.getByRole('button', { name: t['sk.add'] }).click();
        await page.locator('ul.security-keys li', { hasText: name }).waitFor();
        await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      }
      await axe(page, 'second factor page with two keys');
      const removeBlue = page.getByRole('button', { name: t['sk.removeKey'].replace('{name}', 'blue key') });
      // without the password: the field says so, nothing is removed
      await removeBlue.click();
      await page.getByText(t['err.required']).first().waitFor();
      await axe(page, 'remove without the password');
      await page.locator('input[name=sk_remove_password]').fill(PW);
      await removeBlue.click();
      await page.getByText(t['sk.removed'].replace('{name}', 'blue key')).first().waitFor();
      await page.locator('ul.security-keys li', { hasText: 'red key' }).waitFor();
      assert.equal(await page.locator('ul.security-keys li', { hasText: 'blue key' }).count(), 0);
      await axe(page, 'after removing a key');
      assert.deepEqual(b.problems, []);
    } finally {
      await b.ctx.close();
    }
  });
}
