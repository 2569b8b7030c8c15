// Issue 23: "Verify caller" on the reset panel, in each locale. The helpdesk
// admin's role must verify; the page refuses a reset without it, sends the
// code (read here from smtp-sink, never from the page), takes what the
// caller reads out, and resets. Every label is the locale's own; axe finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startResetd, startSmtpSink, adminApi, launch, signInUi, readI18n, checkAxe, shot, sleep, LOCALES, OUT } from '../harness.mjs';

const I18N = readI18n();
const PW = 'Juniper-Cobalt-Harbor-5173';
let server;
let sink;
const ids = {};

before(async () => {
  sink = await startSmtpSink();
  server = await startResetd({ smtpPort: sink.port, extraToml: '\n[caller_verification]\nhelpdesk_admin = "required"\n' });
  const admin = await adminApi(server.origin);
  for (const locale of LOCALES) {
    const l = locale.toLowerCase();
    await admin.call('POST', '/users', {
      username: `hd-${l}`, display_name: `Helpdesk ${locale}`, email: `hd-${l}@example.test`, role: 'helpdesk_admin', locale,
      mode: 'manual', password: PW, require_change: false, notify: [], notify_user: false });
    const r = await admin.call('POST', '/users', {
      username: `cv-${l}`, display_name: `Caller ${locale}`, email: `cv-${l}@example.test`, alternate_email: `cv-${l}@home.example`,
      locale, mode: 'manual', password: `${PW}-x`, require_change: false, notify: [], notify_user: false });
    ids[locale] = r.user.id;
  }
  fs.mkdirSync(OUT, { recursive: true });
});

after(() => { server?.stop(); sink?.stop(); });

async function codeFor(to) {
  for (let i = 0; i < 200; i++) {
    const m = sink.messages().find((x) => (x.headers.to || '').includes(to));
    if (m) return m.body.match(/\b(\d{6})\b/)[1];
    await sleep(100);
  }
  throw new Error(`no code mailed to ${to}`);
}

for (const locale of LOCALES) {
  test(`${locale}: verify the caller, then reset`, async () => {
    const t = I18N[locale];
    const l = locale.toLowerCase();
    const b = await launch(locale);
    try {
      const { page } = b;
      await page.goto(`${server.origin}/#/signin`);
      await signInUi(page, `hd-${l}`, PW);
      await page.goto(`${server.origin}/#/reset/${ids[locale]}`);
      await page.getByRole('group', { name: t['caller.legend'] }).waitFor();
      await page.getByText(t['caller.introRequired']).waitFor();
      // required: Reset alone is refused in the page, before any request
      await page.getByRole('button', { name: t['reset.submit'] }).click();
      await page.getByText(t['caller.needed']).waitFor();
      await checkAxe(page, `caller ${locale} required`);

      await page.getByRole('button', { name: t['caller.start'] }).click();
      await page.getByText(t['caller.sent'].replace('{to}', 'c***@home.example')).waitFor();
      const code = await codeFor(`cv-${l}@home.example`);
      assert.ok(!(await page.content()).includes(code), 'the code is on the page');
      await page.getByLabel(t['caller.code']).fill(code === '000000' ? '111111' : '000000');
      await page.getByRole('button', { name: t['caller.check'] }).click();
      await page.getByText(t['err.wrong_caller_code']).waitFor();
      await page.getByLabel(t['caller.code']).fill(code);
      await page.getByRole('button', { name: t['caller.check'] }).click();
      await page.getByText(t['caller.verifiedCode'].replace('{to}', 'c***@home.example')).waitFor();
      await checkAxe(page, `caller ${locale} verified`);
      await shot(page, locale, 'caller-verified');

      await page.getByRole('button', { name: t['reset.submit'] }).click();
      await page.getByRole('heading', { name: t['result.done1'].replace('{name}', `cv-${l}`) }).waitFor();
      assert.deepEqual(b.problems, []);
      assert.ok(b.requests.every((u) => u.startsWith(server.origin)), 'a request left the appliance');
    } finally {
      await b.ctx.close();
    }
  });
}
