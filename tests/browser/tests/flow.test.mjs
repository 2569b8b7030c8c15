// The seed flow end to end (spec §1): sign in, Active users, select the user,
// Reset password, enter an address, Reset, see the password once, the mail
// arrives at smtp-sink and the state turns to sent, and the user signs in with
// the mailed password and is made to change it. Also: no request leaves the
// appliance's origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startResetd, startSmtpSink, launch, signInUi, sleep, OUT, ADMIN_INITIAL, ADMIN_PASSWORD } from '../harness.mjs';

let sink;
let server;
let b;

before(async () => {
  sink = await startSmtpSink();
  server = await startResetd({ smtpPort: sink.port, users: [
    { username: 'alice', email: 'alice@example.test', display_name: 'Alice Example' },
    { username: 'bob', email: 'bob@example.test', display_name: 'Bob Builder' },
  ] });
  b = await launch('en', { width: 1024, height: 600 });
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await b?.ctx.close();
  server?.stop();
  sink?.stop();
});

const shot = (name) => b.page.screenshot({ path: path.join(OUT, `flow-${name}.png`) });

test('seed flow: admin resets a password, the mail arrives, the user must change it', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/`);
  await signInUi(page, 'admin', ADMIN_INITIAL);

  // First sign-in of the initial admin: forced change.
  await page.getByRole('heading', { name: 'Change your password' }).waitFor();
  await page.getByLabel('Current password').fill(ADMIN_INITIAL);
  await page.getByLabel('New password', { exact: true }).fill(ADMIN_PASSWORD);
  await page.getByLabel('Confirm new password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();

  // Users > Active users: search, select, Reset password.
  await page.getByRole('heading', { name: 'Active users' }).waitFor();
  await page.getByLabel('Search users').fill('alic');
  await page.getByRole('checkbox', { name: 'Select Bob Builder' }).waitFor({ state: 'detached' });
  const box = page.getByRole('checkbox', { name: 'Select Alice Example' });
  await box.check();
  await page.getByRole('button', { name: 'Reset password', exact: true }).click();

  // The Reset password panel, as in the seed.
  await page.getByRole('heading', { name: 'Reset password' }).waitFor();
  assert.ok(await page.getByLabel('Automatically create a password').isChecked());
  const requireChange = page.getByLabel('Require this user to change their password when they first sign in');
  // public_url is set: the safer link is the default; the password stays a choice.
  assert.ok(await page.getByLabel('Email a link to set a new password (safer)').isChecked());
  // A link can't require a change (the user picks the password through it): not offered.
  assert.ok(!(await requireChange.isChecked()) && (await requireChange.isDisabled()));
  await page.getByLabel('Email the password', { exact: true }).check();
  // With the password emailed, the seed's default is back: ticked.
  assert.ok(await requireChange.isChecked() && !(await requireChange.isDisabled()));
  const to = page.getByLabel('Email the new password to the following recipients');
  assert.equal(await to.inputValue(), '', 'nothing pre-filled: an address the user can get to is typed or picked');
  await to.fill('alice.home@example.test');
  await shot('reset-panel');
  await page.getByRole('button', { name: 'Reset', exact: true }).click();

  // The password, once.
  const pwBox = page.getByLabel('New password for alice');
  await pwBox.waitFor();
  const password = await pwBox.inputValue();
  assert.ok(password.length >= 12, `password shown: ${password}`);
  await page.getByRole('button', { name: 'Copy password' }).waitFor();
  await page.getByRole('button', { name: 'Print slip' }).waitFor();

  // The notification turns to sent (polled by the page).
  const row = page.getByRole('row').filter({ hasText: 'alice.home@example.test' });
  await row.getByText('SENT', { exact: true }).waitFor({ timeout: 30000 });
  await shot('result-sent');

  // The print slip: heading, name, username, password, sign-in address,
  // what expires when, and the change at first sign-in.
  await page.evaluate(() => { window.print = () => {}; });
  await page.getByRole('button', { name: 'Print slip' }).click();
  await page.emulateMedia({ media: 'print' });
  const printed = await page.evaluate(() => document.body.innerText.trim());
  await page.screenshot({ path: path.join(OUT, 'flow-print-slip.png') });
  await page.emulateMedia({ media: 'screen' });
  const lines = printed.split('\n').map((l) => l.trim()).filter(Boolean);
  assert.equal(lines[0], 'Your new sign-in', printed);
  assert.deepEqual(lines.slice(1, 11).filter((_, i) => i % 2 === 0), ['Name', 'Username', 'Temporary password', 'Sign in at', 'This password expires'], printed);
  assert.equal(lines[2], 'Alice Example');
  assert.equal(lines[4], 'alice');
  assert.equal(lines[6], password);
  assert.equal(lines[8], `${server.origin}/`);
  assert.match(lines[10], /\d/);
  assert.equal(lines[11], 'You must change this password the first time you sign in.');
  assert.equal(lines.length, 12, printed);

  // The mail arrived at the relay and carries the same password.
  let mail;
  for (let i = 0; i < 100 && !mail; i++) {
    mail = sink.messages().find((m) => /alice\.home@example\.test/.test(m.headers.to || '') && m.body.includes(password));
    if (!mail) await sleep(200);
  }
  assert.ok(mail, `mail with the password to alice.home@example.test; got ${sink.messages().map((m) => m.headers.to).join(', ')}`);
  assert.ok(sink.messages().some((m) => /alice@example\.test/.test(m.headers.to || '') && !m.body.includes(password)), 'the secret-free notice to the address on file');

  // Shown once: leave the page and come back, no password on screen.
  await page.getByRole('link', { name: 'Back to active users' }).click();
  await page.getByRole('heading', { name: 'Active users' }).waitFor();
  await page.goBack();
  await page.getByRole('heading', { name: 'Reset password' }).waitFor();
  assert.ok(!(await page.content()).includes(password), 'password not shown again');

  // The user signs in with the mailed password and is made to change it.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signInUi(page, 'alice', password);
  await page.getByRole('heading', { name: 'Change your password' }).waitFor();
  await page.getByLabel('Current password').fill(password);
  await page.getByLabel('New password', { exact: true }).fill('Tangerine-Glacier-Oboe-5522');
  await page.getByLabel('Confirm new password').fill('Tangerine-Glacier-Oboe-5522');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Your password was changed.').waitFor();
  await shot('user-changed');

  assert.deepEqual(b.problems, []);
});

test('the page makes no request to any origin but the appliance', () => {
  assert.ok(b.requests.length > 5);
  const foreign = b.requests.filter((u) => !u.startsWith(`${server.origin}/`) && !u.startsWith('data:'));
  assert.deepEqual(foreign, []);
});
