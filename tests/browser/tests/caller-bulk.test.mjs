// Issue 23 item 2: a bulk reset by a role that must verify the caller. A
// verification names one user, so the bulk dialog asks for the override
// reason: without it the page refuses (nothing is reset), with it every user
// is reset and the reason is audited for each. Then the settings page shows
// the per-role policies of the config file, read-only. Each locale's own
// labels; axe finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startResetd, startSmtpSink, adminApi, launch, signInUi, launchSignedInAdmin, readI18n, checkAxe, shot, LOCALES, OUT } from '../harness.mjs';

const I18N = readI18n();
const PW = 'Juniper-Cobalt-Harbor-5173';
const TOML = '\n[caller_verification]\nhelpdesk_admin = "required"\nuser_admin = "off"\n'
  + '\n[second_factor]\nenabled = true\nglobal_admin = "optional"\npassword_admin = "required"\nuser = "off"\n';
let server;
let sink;
let admin;
const ids = {};

before(async () => {
  sink = await startSmtpSink();
  server = await startResetd({ smtpPort: sink.port, extraToml: TOML });
  admin = await adminApi(server.origin);
  for (const locale of LOCALES) {
    const l = locale.toLowerCase();
    await admin.call('POST', '/users', {
      username: `hd-${l}`, display_name: `Helpdesk ${locale}`, email: `hd-${l}@example.test`, role: 'helpdesk_admin', locale,
      mode: 'manual', password: PW, require_change: false, notify: [], notify_user: false });
    ids[locale] = [];
    for (const n of [1, 2]) {
      const r = await admin.call('POST', '/users', {
        username: `b${n}-${l}`, display_name: `Bulk ${n} ${locale}`, email: `b${n}-${l}@example.test`,
        locale, mode: 'manual', password: `${PW}-${n}`, require_change: false, notify: [], notify_user: false });
      ids[locale].push(r.user.id);
    }
  }
  fs.mkdirSync(OUT, { recursive: true });
});

after(() => { server?.stop(); sink?.stop(); });

const rows = async (action, target) => (await admin.call('GET', `/audit?action=${action}&limit=200`)).entries
  .filter((e) => e.target === target);

for (const locale of LOCALES) {
  test(`${locale}: a bulk reset by a role that must verify needs the reason`, async () => {
    const t = I18N[locale];
    const l = locale.toLowerCase();
    const b = await launch(locale);
    try {
      const { page } = b;
      await page.goto(`${server.origin}/#/signin`);
      await signInUi(page, `hd-${l}`, PW);
      await page.goto(`${server.origin}/#/reset?ids=${ids[locale].join(',')}`);
      await page.getByRole('group', { name: t['caller.legend'] }).waitFor();
      await page.getByText(t['caller.bulkRequired']).waitFor();
      // no reason: refused in the page, nobody is reset
      await page.getByRole('button', { name: t['reset.submit'] }).click();
      await page.getByText(t['caller.bulkNeeded']).waitFor();
      const reason = page.getByRole('textbox', { name: t['caller.reason'] });
      assert.equal(await reason.getAttribute('aria-invalid'), 'true');
      await checkAxe(page, `caller-bulk ${locale} refused`);
      for (const n of [1, 2]) assert.deepEqual(await rows('password_reset', `b${n}-${l}`), []);

      const why = `Floor 3 moved desks (${locale}), signed off by Dana`;
      await reason.fill(why);
      await page.getByRole('button', { name: t['reset.submit'] }).click();
      const key = t['result.bulkDone.other'] ? 'result.bulkDone.other' : 'result.bulkDone';
      await page.getByRole('heading', { name: t[key].replace('{n}', '2') }).waitFor();
      await shot(page, locale, 'caller-bulk-done');
      for (const n of [1, 2]) {
        const ov = await rows('caller_verification_override', `b${n}-${l}`);
        assert.equal(ov.length, 1, JSON.stringify(ov));
        assert.equal(ov[0].actor, `hd-${l}`);
        assert.ok(ov[0].detail.includes(why), ov[0].detail);
        const rs = await rows('password_reset', `b${n}-${l}`);
        assert.equal(rs.length, 1);
        assert.ok(rs[0].detail.includes(`caller not verified, override: ${why}`), rs[0].detail);
      }
      assert.deepEqual(b.problems, []);
      assert.ok(b.requests.every((u) => u.startsWith(server.origin)), 'a request left the appliance');
    } finally {
      await b.ctx.close();
    }
  });

  test(`${locale}: the settings page shows each role's caller and second-factor policy, read-only`, async () => {
    const t = I18N[locale];
    const b = await launchSignedInAdmin(server.origin, locale);
    try {
      const { page } = b;
      await page.goto(`${server.origin}/#/settings`);
      const sec = page.getByRole('region', { name: t['settings.rolePolicies'] });
      await sec.waitFor();
      await sec.getByText(t['settings.rolePoliciesIntro']).waitFor();
      const pairs = async (heading) => {
        const dl = sec.getByRole('heading', { name: heading }).locator('xpath=following-sibling::dl[1]');
        const dts = await dl.locator('dt').allTextContents();
        const dds = await dl.locator('dd').allTextContents();
        return Object.fromEntries(dts.map((k, i) => [k, dds[i]]));
      };
      const r = (k) => t[`role.${k}`];
      const p = (k) => t[`rp.${k}`];
      assert.deepEqual(await pairs(t['rp.caller']), {
        [r('helpdesk_admin')]: p('required'), [r('password_admin')]: p('optional'),
        [r('user_admin')]: p('off'), [r('global_admin')]: p('optional') });
      assert.deepEqual(await pairs(t['rp.secondFactor']), {
        [r('user')]: p('off'), [r('helpdesk_admin')]: p('optional'), [r('password_admin')]: p('required'),
        [r('user_admin')]: p('optional'), [r('global_admin')]: p('optional') });
      // read-only: nothing to type or pick in it
      assert.equal(await sec.locator('input, select, textarea, button').count(), 0);
      await checkAxe(page, `settings-policies ${locale}`);
      await shot(page, locale, 'settings-policies', { fullPage: true });
      assert.deepEqual(b.problems, []);
    } finally {
      await b.ctx.close();
    }
  });
}
