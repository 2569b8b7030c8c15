// The reset panel, its result and the print slip in every language at
// 1024x600 (the kiosk): axe-clean, no horizontal overflow, and screenshots in
// output/i13/ to look at (viewport and full page).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startResetd, adminApi, launch, signInUi, LOCALES, OUT, ADMIN_PASSWORD } from '../harness.mjs';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const DIR = path.join(OUT, 'i13');
let server;
const ids = {};

before(async () => {
  server = await startResetd({ adminEmail: 'it-desk@corp.example', users: [
    { username: 'ayse.yilmaz', email: 'ayse.yilmaz@istanbul-office.corp.example', display_name: 'Ayşe Yılmaz', locale: 'tr-TR' },
    { username: 'meiling', email: 'meiling.chen@taipei-office.corp.example', display_name: '陳美玲', locale: 'zh-TW' },
    { username: 'john', email: 'john.smith@corp.example', display_name: 'John Smith' },
  ] });
  const admin = await adminApi(server.origin);
  for (const u of (await admin.call('GET', '/users?limit=50')).users) ids[u.username] = u.id;
  await admin.call('PATCH', `/users/${ids['ayse.yilmaz']}`, { alternate_email: 'ayse.personal.mailbox@home.example' });
  await admin.call('PATCH', `/users/${ids.meiling}`, { alternate_email: 'meiling@home.example' });
  await admin.call('PATCH', `/users/${ids.john}`, { alternate_email: 'john.home@home.example' });
  fs.mkdirSync(DIR, { recursive: true });
});

after(() => server?.stop());

async function look(page, name, problems) {
  await page.waitForTimeout(300);
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  for (const v of res.violations) problems.push(`${name}: axe ${v.id} ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (over > 0) problems.push(`${name}: ${over}px horizontal overflow`);
  await page.screenshot({ path: path.join(DIR, `${name}.png`) });
  await page.screenshot({ path: path.join(DIR, `${name}-full.png`), fullPage: true });
}

const WHO = { en: 'john', 'zh-TW': 'meiling', 'tr-TR': 'ayse.yilmaz' };

for (const locale of LOCALES) {
  test(`reset panel, result and print slip in ${locale} at 1024x600`, async () => {
    const b = await launch(locale, { width: 1024, height: 600 });
    const { page } = b;
    const problems = [];
    try {
      await page.goto(`${server.origin}/#/signin`);
      await signInUi(page, 'admin', ADMIN_PASSWORD);
      await page.locator('main h1').first().waitFor();
      await page.goto(`${server.origin}/#/reset/${ids[WHO[locale]]}`);
      await page.locator('.reset-options').waitFor();
      await page.locator('input[name=delivery][value=password]').check();
      await page.locator('.picks button').first().click();
      await look(page, `${locale}-reset-panel`, problems);
      await page.locator('form button[type=submit]').click();
      await page.locator('.result input.secret').waitFor();
      await page.locator('.result .badge.st-sent').first().waitFor({ timeout: 30000 });
      await look(page, `${locale}-result`, problems);
      await page.evaluate(() => { window.print = () => {}; });
      await page.locator('.result .secret-box button').last().click();
      await page.emulateMedia({ media: 'print' });
      await page.screenshot({ path: path.join(DIR, `${locale}-print-slip.png`) });
      const slip = await page.locator('#slip').innerText();
      await page.emulateMedia({ media: 'screen' });
      assert.match(slip, /\d/);
      assert.ok(slip.includes(WHO[locale]));
      problems.push(...b.problems);
    } finally {
      await b.ctx.close();
    }
    assert.deepEqual(problems, []);
  });
}
