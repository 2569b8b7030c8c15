// Issue 13, "missing or unclear" and "habits": the audit answers "who reset
// John?", policy feedback in words, welcome mail for a new account, the
// Notifications page's user column, zh-TW times, and the keyboard path from
// search to Reset; the bulk CSV download once. File relay: delivered mail is
// the .eml files in the data dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startResetd, adminApi, launchSignedInAdmin, sleep, decodeMail, setLanguage } from '../harness.mjs';

let server;
let admin;
let b;
const ids = {};

function mails() {
  const dir = path.join(server.dataDir, 'mail');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => decodeMail(fs.readFileSync(path.join(dir, f), 'latin1')));
}

async function waitMail(pred) {
  for (let i = 0; i < 100; i++) {
    const m = mails().find(pred);
    if (m) return m;
    await sleep(200);
  }
  throw new Error(`no such mail; have ${mails().map((m) => m.headers.to).join(', ')}`);
}

before(async () => {
  server = await startResetd({ adminEmail: 'admin@corp.example', users: [
    { username: 'john', email: 'john.smith@corp.example', display_name: 'John Smith' },
    { username: 'arjun', email: 'arjun@corp.example', display_name: 'Arjun Rao' },
    { username: 'mei', email: 'mei@corp.example', display_name: 'Mei Lin' },
  ] });
  admin = await adminApi(server.origin);
  for (const u of (await admin.call('GET', '/users?limit=50')).users) ids[u.username] = u.id;
  await admin.call('PATCH', `/users/${ids.john}`, { alternate_email: 'john.home@home.example' });
  await admin.call('POST', `/users/${ids.john}/password-reset`, { notify: ['john.home@home.example'] });
  b = await launchSignedInAdmin(server.origin);
  await b.page.getByRole('heading', { name: 'Active users' }).waitFor();
});

after(async () => {
  await b?.ctx.close();
  server?.stop();
});

test('6. the audit answers "who reset John?": target, partial names, addresses, translated', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/audit`);
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.getByLabel('Who').fill('adm');
  await page.getByLabel('Target (user or address)').fill('joh');
  await page.getByLabel('Action').selectOption('password_reset');
  await page.getByRole('button', { name: 'Apply' }).click();
  const row = page.locator('main table tbody tr').first();
  await row.getByText('john', { exact: true }).waitFor();
  const text = await row.innerText();
  assert.match(text, /admin/);
  assert.match(text, /password queued for john\.home@home\.example/);
  assert.match(text, /notice \(no password\) queued for john\.smith@corp\.example/);
  // The API: target and match=partial; the old exact actor filter still works.
  const exact = await admin.call('GET', '/audit?actor=adm&action=password_reset');
  assert.equal(exact.total, 0);
  const part = await admin.call('GET', '/audit?actor=adm&target=JOH&match=partial&action=password_reset');
  assert.equal(part.total, 1);
  assert.ok(!JSON.stringify(part).match(/"password":/));
  await assert.rejects(admin.call('GET', '/audit?match=fuzzy'), /422/);
  // In zh-TW the details and the delivery worker are in Chinese.
  await setLanguage(page, 'zh-TW');
  await page.getByText('密碼已排入佇列，將寄給 john.home@home.example').first().waitFor();
  await page.getByLabel('動作').selectOption('');
  await page.getByLabel('執行者').fill('');
  await page.getByLabel('對象（使用者或地址）').fill('');
  await page.locator('form.filters button[type=submit]').click();
  await page.getByText('系統（傳送程序）').first().waitFor();
  await setLanguage(page, 'en');
});

test('8. policy feedback: the minimum in numbers, strength in words, stale errors go', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/reset/${ids.mei}`);
  await page.getByRole('heading', { name: 'Reset password' }).waitFor();
  await page.getByLabel('Let me create the password').check();
  await page.getByLabel('Email the password', { exact: true }).check();
  const pw = page.getByLabel('Password', { exact: true });
  await pw.fill('Kiwi7');
  await page.getByText('Too short: use at least 12 characters').waitFor();
  assert.ok(!(await page.locator('.strength').innerText()).includes('bit'), 'no bits');
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await page.getByText('Check the marked field.').waitFor();
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  await pw.fill('Lantern-Harbor-Quince-6604');
  await page.getByText('Meets the password policy').waitFor();
  await page.getByText('Check the marked field.').waitFor({ state: 'hidden' });
  assert.equal(await pw.getAttribute('aria-invalid'), null);
  assert.equal(await page.getByText('Too short', { exact: false }).count(), 0);
});

test('9. a new account gets a welcome mail, local time with its zone, the name', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/users/new`);
  await page.getByLabel('Username').fill('tulay');
  await page.getByLabel('Display name').fill('Tülay Şahin');
  await page.getByLabel('Email', { exact: true }).fill('tulay@corp.example');
  await page.getByLabel('Alternate email').fill('tulay@home.example');
  await page.getByLabel('Language of emails').selectOption('tr-TR');
  await page.getByLabel('Email the password', { exact: true }).check();
  await page.getByRole('button', { name: 'Add alternate address tulay@home.example' }).click();
  await page.getByRole('button', { name: 'Add user' }).click();
  await page.getByLabel('New password for tulay').waitFor();
  await page.getByRole('button', { name: 'Add another user' }).waitFor();
  const m = await waitMail((x) => (x.headers.to || '').includes('tulay@home.example'));
  assert.match(m.body, /Merhaba Tülay Şahin/);
  assert.match(m.body, /hesabı oluşturuldu/);
  assert.doesNotMatch(m.body, /sıfırla/i);
  assert.doesNotMatch(m.body, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/, 'no raw UTC time');
  assert.match(m.body, /\d{4} \d\d:\d\d \(UTC/);
  const notice = await waitMail((x) => (x.headers.to || '').includes('tulay@corp.example'));
  assert.doesNotMatch(notice.body, /sıfırla/i);
});

test('10. Notifications name the user; zh-TW times say 上午/下午', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/notifications`);
  const row = page.getByRole('row').filter({ hasText: 'john.home@home.example' }).first();
  await row.waitFor();
  assert.match(await row.innerText(), /\bjohn\b/);
  await setLanguage(page, 'zh-TW');
  await page.getByRole('columnheader', { name: '使用者' }).waitFor();
  const text = await page.locator('main table').innerText();
  assert.match(text, /[上下]午\d/);
  assert.doesNotMatch(text, /清晨|早上|中午|晚上|凌晨/);
  await setLanguage(page, 'en');
});

test('habits: keyboard from search to Reset in a few keys; name opens details', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/users`);
  await page.getByRole('heading', { name: 'Active users' }).waitFor();
  // The name opens the details pane with the actions in it.
  await page.getByRole('button', { name: 'Arjun Rao' }).click();
  const pane = page.getByRole('dialog', { name: 'Arjun Rao' });
  await pane.getByText('arjun@corp.example').waitFor();
  await pane.getByRole('link', { name: 'Reset password' }).waitFor();
  await pane.getByRole('button', { name: 'Close' }).click();
  // Keys: type, Enter, Enter, type the address, Enter.
  const search = page.getByLabel('Search users');
  await search.focus();
  await page.keyboard.type('arjun');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Reset password', exact: true }).waitFor();
  await page.waitForFunction(() => document.activeElement?.textContent === 'Reset password');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Reset password' }).waitFor();
  await page.waitForFunction(() => document.activeElement?.name === 'notify');
  await page.keyboard.type('arjun@home.example');
  await page.keyboard.press('Enter');
  await page.getByLabel('Set-password link for arjun').waitFor();
  assert.deepEqual(b.problems, []);
});

test('habits: bulk result downloads the new passwords once as CSV', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/reset?ids=${ids.john},${ids.mei}`);
  await page.getByRole('heading', { name: 'Reset password' }).waitFor();
  await page.getByLabel('Email the password', { exact: true }).check();
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  const dlButton = page.getByRole('button', { name: 'Download the passwords as CSV (once)' });
  await dlButton.waitFor();
  const [dl] = await Promise.all([page.waitForEvent('download'), dlButton.click()]);
  const csv = fs.readFileSync(await dl.path(), 'utf8');
  const shown = await page.locator('main table td.mono').allInnerTexts();
  for (const pw of shown.filter(Boolean)) assert.ok(csv.includes(pw), 'each shown password is in the file');
  assert.match(csv, /^username,display_name,password,link,expires_at\r\n/);
  await page.getByText('Downloaded. The file is not offered again.').waitFor();
  assert.equal(await dlButton.count(), 0);
  assert.deepEqual(b.problems, []);
});
