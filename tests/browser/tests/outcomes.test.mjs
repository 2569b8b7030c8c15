// Issue 13, "wrong outcomes": each case as a new IT admin met it, driven
// through the UI against the real binary (file relay: delivered mail is the
// .eml files in the data dir). Each failed on the code before its fix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startResetd, adminApi, ApiClient, launchSignedInAdmin, sleep, decodeMail, ADMIN_PASSWORD } from '../harness.mjs';

let server;
let b;
const ids = {};
const HOURS = 5;

// Mail the file relay delivered so far, decoded.
function mails() {
  const dir = path.join(server.dataDir, 'mail');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => decodeMail(fs.readFileSync(path.join(dir, f), 'latin1')));
}

before(async () => {
  server = await startResetd({ testClock: true, adminEmail: 'admin@corp.example', users: [
    { username: 'john', email: 'john.smith@corp.example', display_name: 'John Smith' },
    { username: 'arjun', email: 'arjun@corp.example', display_name: 'Arjun Rao' },
  ] });
  const admin = await adminApi(server.origin);
  for (const u of (await admin.call('GET', '/users?limit=50')).users) ids[u.username] = u.id;
  await admin.call('PATCH', `/users/${ids.john}`, { alternate_email: 'john.home@home.example' });
  // Two accounts created with a temporary password (its expiry: now + 72 h)…
  for (const n of ['tempa', 'tempb']) {
    const r = await admin.call('POST', '/users', { username: n, display_name: `Temp ${n}`, email: `${n}@corp.example`, notify: [], notify_user: false });
    ids[n] = r.user.id;
  }
  // …and the bulk reset happens hours later.
  server.setClock(HOURS * 3600);
  await sleep(400);
  b = await launchSignedInAdmin(server.origin);
  await b.page.getByRole('heading', { name: 'Active users' }).waitFor();
});

after(async () => {
  await b?.ctx.close();
  server?.stop();
});

async function search(q) {
  const { page } = b;
  await page.getByLabel('Search users').fill(q);
  await page.getByRole('status').filter({ hasText: /Showing .* of \d+|No users found/ }).waitFor();
  await sleep(400);
}

async function usersPage() {
  await b.page.goto(`${server.origin}/#/users`);
  await b.page.getByRole('heading', { name: 'Active users' }).waitFor();
}

test('1. a user no longer shown is no longer selected, and is not reset', async () => {
  const { page } = b;
  await usersPage();
  await search('john');
  await page.getByRole('checkbox', { name: 'Select John Smith' }).check();
  await search('arjun');
  await page.getByRole('checkbox', { name: 'Select John Smith' }).waitFor({ state: 'detached' });
  await page.getByRole('checkbox', { name: 'Select Arjun Rao' }).check();
  assert.equal(await page.getByRole('button', { name: /Reset password \(/ }).count(), 0, 'the button counts a user not on screen');
  await page.getByRole('button', { name: 'Reset password', exact: true }).click();
  await page.getByRole('heading', { name: 'Reset password' }).waitFor();
  await page.getByText('User: Arjun Rao (arjun)').waitFor();
  assert.ok(!(await page.locator('main').innerText()).includes('John'), 'John is not in the reset form');
});

test('2. Send test message tests the relay on screen, not the saved one', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/settings`);
  const relay = page.getByRole('region', { name: 'Mail relay' });
  await relay.getByLabel('Relay type').selectOption('smtp');
  await relay.getByLabel('Host').fill('no-such-relay.invalid');
  await relay.getByLabel('Test recipient').fill('it@corp.example');
  await relay.getByRole('button', { name: 'Send test message' }).click();
  // The unsaved host is tried (and fails); the saved file relay gets nothing.
  await relay.getByText('The relay did not accept the message.').waitFor();
  await relay.getByText('Unsaved changes: not in effect until you select Save.').waitFor();
  assert.equal(mails().length, 0, 'nothing was sent through the saved relay');
});

test('3. Add user with the recipients left empty mails no password', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/users/new`);
  await page.getByRole('heading', { name: 'Add a user' }).waitFor();
  await page.getByLabel('Username').fill('newbie');
  await page.getByLabel('Display name').fill('New Bie');
  await page.getByLabel('Email', { exact: true }).fill('newbie@corp.example');
  await page.getByLabel('Alternate email').fill('newbie@home.example');
  await page.getByLabel('Email the password', { exact: true }).check();
  // The recipients box is left as it is (the admin typed nothing there).
  await page.getByRole('button', { name: 'Add user' }).click();
  const pw = await page.getByLabel('New password for newbie').inputValue();
  // The secret-free notice goes out; wait for it, then look at every mail.
  await page.getByRole('row').filter({ hasText: 'newbie@corp.example' }).getByText('SENT', { exact: true }).waitFor({ timeout: 30000 });
  await sleep(300);
  const all = mails();
  assert.ok(all.length >= 1);
  assert.deepEqual(all.filter((m) => m.body.includes(pw)).map((m) => m.headers.to), [], 'no mail carries the password');
  // And the page says so, before and after.
  await page.getByText('No email carries this password.', { exact: false }).waitFor();
  await usersPage();
  await page.getByRole('button', { name: 'Add a user' }).click();
  await page.getByLabel('Email the password', { exact: true }).check();
  await page.getByText('No email carries the new password.', { exact: false }).waitFor();
});

test('4. the reset panel pre-fills nothing and offers the alternate and own addresses', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/reset/${ids.john}`);
  await page.getByRole('heading', { name: 'Reset password' }).waitFor();
  const to = page.locator('input[name=notify]');
  assert.equal(await to.inputValue(), '');
  await page.getByRole('button', { name: 'Add my address admin@corp.example' }).waitFor();
  await page.getByRole('button', { name: 'Add alternate address john.home@home.example' }).click();
  assert.equal(await to.inputValue(), 'john.home@home.example');
  await page.getByText('By email: the set-password link to john.home@home.example.').waitFor();
});

test('5. bulk reset slips and results show the new expiry', async () => {
  const { page } = b;
  await usersPage();
  await search('temp');
  await page.getByRole('checkbox', { name: 'Select Temp tempa' }).check();
  await page.getByRole('checkbox', { name: 'Select Temp tempb' }).check();
  await page.getByRole('button', { name: 'Reset password (2 users)' }).click();
  await page.getByRole('heading', { name: 'Reset password' }).waitFor();
  await page.getByLabel('Email the password', { exact: true }).check();
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await page.getByRole('heading', { name: 'The passwords of 2 users were reset' }).waitFor();
  const admin = new ApiClient(server.origin);
  await admin.signIn('admin', ADMIN_PASSWORD);
  const fmt = async (iso) => page.evaluate((x) => new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(x)), iso);
  const expected = [];
  for (const n of ['tempa', 'tempb']) {
    const u = (await admin.call('GET', `/users/${ids[n]}`));
    expected.push(await fmt((u.user || u).password_expires_at));
  }
  const table = await page.locator('main table').first().innerText();
  for (const e of expected) assert.ok(table.includes(e), `results show ${e}: ${table}`);
  await page.evaluate(() => { window.print = () => {}; });
  await page.getByRole('button', { name: 'Print slip' }).click();
  const slips = await page.locator('#slip .slip-page').allInnerTexts();
  assert.equal(slips.length, 2);
  for (const [i, e] of expected.entries()) assert.ok(slips[i].includes(e), `slip ${i} shows ${e}: ${slips[i]}`);
  assert.deepEqual(b.problems, []);
});
