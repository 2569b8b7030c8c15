// The pages beyond the seed flow, driven through the UI against the real
// binary and smtp-sink: settings (self-service on, password policy seen by the
// live check, relay test with the relay's exact answer, field errors,
// retention), self-service reset end to end, a set-password link from the
// mail, the audit filters and CSV export, My sessions, and block / unblock /
// delete / unlock carried through to the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startResetd, startSmtpSink, adminApi, ApiClient, launch, signInUi, sleep, OUT, ADMIN_PASSWORD } from '../harness.mjs';

let sink;
let server;
let admin;
let b;
let lockout;
const ids = {};
const CAROL_NEW = 'Harbor-Lantern-Violet-9034';
const DAVE_NEW = 'Copper-Willow-Sonnet-2718';

const shot = (name) => b.page.screenshot({ path: path.join(OUT, `site-${name}.png`) });

async function mailTo(addr, pred = () => true) {
  for (let i = 0; i < 150; i++) {
    const m = sink.messages().find((x) => (x.headers.to || '').includes(addr) && pred(x));
    if (m) return m;
    await sleep(200);
  }
  throw new Error(`no mail to ${addr}; got ${sink.messages().map((x) => x.headers.to).join(', ')}`);
}

// Ten wrong passwords (waiting out the growing delay) lock erin out; runs in
// the background while the other tests go on (about two minutes).
async function lockOut(username) {
  const c = new ApiClient(server.origin);
  let failures = 0;
  while (failures < 10) {
    const r = await fetch(`${server.origin}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password: 'Wrong-Password-For-Lockout' }) });
    await r.text();
    if (r.status === 401) failures++;
    else if (r.status === 429) await sleep(Number(r.headers.get('Retry-After') || 1) * 1000 + 50);
    else throw new Error(`lockout: ${r.status}`);
  }
  return c;
}

before(async () => {
  sink = await startSmtpSink();
  server = await startResetd({ smtpPort: sink.port, users: [
    { username: 'carol', email: 'carol@example.test', display_name: 'Carol Chen' },
    { username: 'dave', email: 'dave@example.test', display_name: 'Dave Doe' },
    { username: 'erin', email: 'erin@example.test', display_name: 'Erin Early' },
    { username: 'frank', email: 'frank@example.test', display_name: 'Frank Fields' },
  ] });
  admin = await adminApi(server.origin);
  for (const u of (await admin.call('GET', '/users?limit=50')).users) ids[u.username] = u.id;
  lockout = lockOut('erin');
  lockout.catch(() => {});
  b = await launch('en', { width: 1024, height: 600 });
});

after(async () => {
  await b?.ctx.close();
  server?.stop();
  sink?.stop();
});

async function signInAdmin() {
  const { page } = b;
  await page.goto(`${server.origin}/#/signin`);
  await signInUi(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('heading', { name: 'Active users' }).waitFor();
}

async function signOut() {
  await b.page.getByRole('button', { name: 'Sign out' }).click();
  await b.page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

const section = (name) => b.page.getByRole('region', { name });

test('settings: self-service on, policy seen by the live check, field errors, retention, relay test', async () => {
  const { page } = b;
  // Self-service is off: the sign-in page offers no "Forgot password?".
  await page.goto(`${server.origin}/#/signin`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Forgot password?' }).count(), 0);
  await signInAdmin();
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();

  const ss = section('Self-service password reset');
  await ss.getByLabel('Let users reset their own passwords').check();
  await ss.getByRole('button', { name: 'Save' }).click();
  await ss.getByText('Saved. The change is in effect now.').waitFor();
  assert.equal((await admin.call('GET', '/settings/self-service')).enabled, true);

  // Password policy: 20 characters at least; the live check says so.
  const pol = section('Password policy');
  await pol.getByLabel('Minimum length (8–64)').fill('7');
  await pol.getByRole('button', { name: 'Save' }).click();
  await pol.getByText('Enter a whole number from 8 to 64.').waitFor();
  assert.equal(await pol.getByLabel('Minimum length (8–64)').getAttribute('aria-invalid'), 'true');
  await pol.getByLabel('Minimum length (8–64)').fill('20');
  await pol.getByLabel('Banned passwords and words').fill('lantern\nab');
  await pol.getByRole('button', { name: 'Save' }).click();
  // "ab" is too short for the API: its error shows next to the list.
  await pol.getByText('Each word must be 3–64 characters, and at most 1000 words.').waitFor();
  assert.equal(await pol.getByLabel('Banned passwords and words').getAttribute('aria-invalid'), 'true');
  await pol.getByLabel('Banned passwords and words').fill('zeppelin');
  await pol.getByRole('button', { name: 'Save' }).click();
  await pol.getByText('Saved. The change is in effect now.').waitFor();
  assert.equal((await admin.call('GET', '/settings/password-policy')).min_length, 20);

  // Expiration: the reminder must come before the expiry.
  const exp = section('Password expiration');
  await exp.getByLabel('Set passwords to never expire').uncheck();
  await exp.getByLabel('Days before passwords expire (14–730)').fill('14');
  await exp.getByLabel('Days before a user is notified about expiration (1–30)').fill('20');
  await exp.getByRole('button', { name: 'Save' }).click();
  await exp.getByText('The reminder must come before the password expires.').waitFor();
  await exp.getByLabel('Set passwords to never expire').check();
  await exp.getByRole('button', { name: 'Save' }).click();
  await exp.getByText('Saved. The change is in effect now.').waitFor();

  // Retention: range checked here, saved value kept.
  const ret = section('Retention');
  const days = ret.getByLabel('Keep audit entries for (days, 30–3650)');
  assert.equal(await days.inputValue(), '365');
  await days.fill('400');
  await ret.getByRole('button', { name: 'Save' }).click();
  await ret.getByText('Saved. The change is in effect now.').waitFor();
  assert.equal((await admin.call('GET', '/settings/retention')).audit_days, 400);

  // Relay: a CA file that does not exist is refused next to its field.
  const relay = section('Mail relay');
  assert.equal(await relay.getByLabel('Relay type').inputValue(), 'smtp');
  await relay.getByLabel('CA certificate file').fill('/nonexistent/ca.pem');
  await relay.getByRole('button', { name: 'Save' }).click();
  await relay.getByText('There is no readable file at this path on the appliance.').waitFor();
  assert.equal(await relay.getByLabel('CA certificate file').getAttribute('aria-invalid'), 'true');
  await shot('settings-field-error');
  await relay.getByLabel('CA certificate file').fill('');
  await relay.getByLabel('From address').fill('it-desk@example.test');
  await relay.getByRole('button', { name: 'Save', exact: true }).click();
  await relay.getByText('Saved. The change is in effect now.').waitFor();
  assert.equal((await admin.call('GET', '/settings/relay')).from, 'it-desk@example.test');

  // Send test message: the page shows the relay's exact answer.
  await relay.getByLabel('Test recipient').fill('relay-check@example.test');
  await relay.getByRole('button', { name: 'Send test message' }).click();
  await relay.getByText('The relay accepted the message.').waitFor({ timeout: 20000 });
  const answer = (await relay.locator('pre.relay-answer').textContent()).trim();
  const entry = (await admin.call('GET', '/audit?action=relay_test')).entries[0];
  assert.equal(answer, entry.detail.trim(), 'the answer shown is the one the relay gave');
  assert.equal(answer, '250 2.0.0 Ok', 'smtp-sink answers the end of DATA with exactly this');
  await mailTo('relay-check@example.test');
  await relay.getByText('The relay accepted the message.').scrollIntoViewIfNeeded();
  await shot('relay-test');

  // The policy change reaches the live check on "Change my password".
  await page.getByRole('link', { name: 'Change my password' }).click();
  await page.getByLabel('New password', { exact: true }).fill('Velvet-Oboe-7138');
  await page.getByText('Too short').waitFor();
  await page.getByLabel('New password', { exact: true }).fill('Velvet-Oboe-Zeppelin-7138');
  await page.getByText('On the list of banned passwords').waitFor();
  await page.getByLabel('New password', { exact: true }).fill('Velvet-Oboe-Marigold-7138');
  await page.getByText('Meets the password policy').waitFor();
  await shot('policy-live-check');
  await signOut();
  assert.deepEqual(b.problems, []);
});

test('self-service: the user asks for a code, gets it by mail, sets a new password and signs in', async () => {
  const { page } = b;
  // The admin gives carol an alternate address through the edit form.
  await signInAdmin();
  await page.getByRole('checkbox', { name: 'Select Carol Chen' }).check();
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Alternate email').fill('carol.private@example.test');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Changes to carol were saved.').waitFor();
  await signOut();

  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.getByRole('heading', { name: 'Reset your own password' }).waitFor();
  await page.getByLabel('Username').fill('carol');
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByText('If the account can use self-service reset, a code is on its way.', { exact: false }).waitFor();
  const mail = await mailTo('carol.private@example.test', (m) => /\b\d{8}\b/.test(m.body));
  const code = mail.body.match(/\b(\d{8})\b/)[1];

  // A wrong code first: the error sits on the code field.
  await page.getByLabel('Code from the email').fill(code === '12345678' ? '87654321' : '12345678');
  await page.getByLabel('New password', { exact: true }).fill(CAROL_NEW);
  await page.getByLabel('Confirm new password').fill(CAROL_NEW);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('alert').filter({ hasText: 'Check the marked field.' }).waitFor();
  await page.getByText('The code is not right. Check it, or ask for a new one.').waitFor();
  assert.equal(await page.getByLabel('Code from the email').getAttribute('aria-invalid'), 'true');
  await shot('forgot-wrong-code');

  await page.getByLabel('Code from the email').fill(code);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('Your password is set. Sign in with the new password.').waitFor();
  await shot('forgot-done');
  await page.getByRole('link', { name: 'Sign in' }).click();
  await signInUi(page, 'carol', CAROL_NEW);
  // A plain user lands on "Change my password" (not a forced change).
  await page.getByRole('heading', { name: 'Change my password' }).waitFor();
  await signOut();
  assert.deepEqual(b.problems, []);
});

test('set-password link: reset with delivery link, link from the mail, the page sets it, sign in', async () => {
  const { page } = b;
  await signInAdmin();
  await page.getByLabel('Search users').fill('dave');
  await page.getByRole('checkbox', { name: 'Select Carol Chen' }).waitFor({ state: 'detached' });
  await page.getByRole('checkbox', { name: 'Select Dave Doe' }).check();
  await page.getByRole('button', { name: 'Reset password', exact: true }).click();
  await page.getByLabel('Email a link to set a new password (safer)').check();
  await page.getByLabel('Email the link to the following recipients').fill('dave.home@example.test');
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  const shown = await page.getByLabel('Set-password link for dave').inputValue();
  assert.match(shown, /#\/set-password\?token=/);
  const row = page.getByRole('row').filter({ hasText: 'dave.home@example.test' });
  await row.getByText('SENT', { exact: true }).waitFor({ timeout: 30000 });
  const mail = await mailTo('dave.home@example.test', (m) => m.body.includes('set-password'));
  const link = mail.body.match(/https?:\/\/\S+set-password\?token=\S+/)[0];
  assert.equal(link, shown, 'the mailed link is the one shown');
  await signOut();

  await page.goto(link);
  await page.getByRole('heading', { name: 'Set your password' }).waitFor();
  await page.getByLabel('New password', { exact: true }).fill(DAVE_NEW);
  await page.getByLabel('Confirm new password').fill(DAVE_NEW);
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByText('Your password is set. Sign in with the new password.').waitFor();
  await shot('set-password-done');
  await page.getByRole('link', { name: 'Sign in' }).click();
  await signInUi(page, 'dave', DAVE_NEW);
  await page.getByRole('heading', { name: 'Change my password' }).waitFor();
  await signOut();

  // The link works once.
  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill('Another-Lilac-Harp-5150-Zed');
  await page.getByLabel('Confirm new password').fill('Another-Lilac-Harp-5150-Zed');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByText('This link was already used. Ask an admin for a new one.').waitFor();
  assert.deepEqual(b.problems, []);
});

test('audit: filter by action and who, CSV export with the same filters', async () => {
  const { page } = b;
  await signInAdmin();
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.getByLabel('Action').selectOption({ label: 'Self-service reset' });
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText('2 entries').waitFor();
  const rows = page.locator('table.audit tbody tr');
  assert.equal(await rows.count(), 2);
  for (let i = 0; i < 2; i++) assert.equal(await rows.nth(i).locator('td').nth(2).textContent(), 'Self-service reset');
  assert.deepEqual((await rows.allTextContents()).map((r) => /Success/.test(r) ? 'ok' : /Failure/.test(r) ? 'failed' : '?').sort(), ['failed', 'ok']);

  await page.getByLabel('Who').fill('admin');
  await page.getByLabel('Action').selectOption({ label: 'Setting changed' });
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('table.audit tbody tr').filter({ hasText: 'retention' }).waitFor();
  const texts = await page.locator('table.audit tbody tr').allTextContents();
  assert.ok(texts.length >= 5 && texts.every((x) => x.includes('Setting changed') && x.includes('admin')), texts.join('\n'));
  await shot('audit-filtered');

  const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  assert.match(href, /^\/api\/v1\/audit\?/);
  const q = new URLSearchParams(href.split('?')[1]);
  assert.deepEqual([q.get('actor'), q.get('action'), q.get('format')], ['admin', 'setting_change', 'csv']);
  const csv = await page.evaluate(async (u) => { const r = await fetch(u); return { type: r.headers.get('content-type'), text: await r.text() }; }, href);
  assert.match(csv.type, /^text\/csv/);
  const lines = csv.text.trim().split(/\r?\n/);
  assert.equal(lines[0], 'id,at,actor,client,action,target,outcome,detail');
  assert.equal(lines.length - 1, texts.length);
  assert.ok(lines.slice(1).every((l) => l.split(',')[2] === 'admin' && l.split(',')[4] === 'setting_change'), csv.text);
  assert.deepEqual(b.problems, []);
});

test('My sessions: end another session, then sign out all others', async () => {
  const { page } = b;
  // Two more sessions of admin elsewhere (the API client's own is a third).
  const tablet = new ApiClient(server.origin, 'Tablet at the front desk');
  await tablet.signIn('admin', ADMIN_PASSWORD);
  const laptop = new ApiClient(server.origin, 'Laptop in the server room');
  await laptop.signIn('admin', ADMIN_PASSWORD);
  await page.getByRole('link', { name: 'My sessions' }).click();
  await page.getByRole('heading', { name: 'My sessions' }).waitFor();
  const rows = page.locator('main table tbody tr');
  // The page's status line; the screen-reader live region repeats the text 50 ms later.
  const main = page.locator('#main');
  await page.getByRole('row').filter({ hasText: 'Laptop in the server room' }).waitFor();
  assert.equal(await rows.count(), 4);
  // This session is marked and can't be ended here (Sign out does that).
  const current = page.getByRole('row').filter({ hasText: 'This session' });
  assert.equal(await current.getByRole('button').count(), 0);
  assert.match(await current.textContent(), /HeadlessChrome|Chrome/);
  await shot('sessions');

  const laptopRow = page.getByRole('row').filter({ hasText: 'Laptop in the server room' });
  await laptopRow.getByRole('button', { name: /End session/ }).click();
  await page.locator('main').getByText('The session was ended.').waitFor();
  await laptopRow.waitFor({ state: 'detached' });
  assert.equal(await rows.count(), 3);
  await assert.rejects(laptop.call('GET', '/session'), /401/);
  await tablet.call('GET', '/session');

  await page.getByRole('button', { name: 'Sign out other sessions' }).click();
  await page.locator('main').getByText('Your other sessions were signed out.').waitFor();
  await page.getByText('No other sessions are open.').waitFor();
  assert.equal(await rows.count(), 1);
  assert.ok(await page.getByRole('button', { name: 'Sign out other sessions' }).isDisabled());
  await assert.rejects(tablet.call('GET', '/session'), /401/);
  await assert.rejects(admin.call('GET', '/session'), /401/);
  await shot('sessions-others-ended');
  // This one still works.
  await page.getByRole('link', { name: 'Active users' }).click();
  await page.getByRole('heading', { name: 'Active users' }).waitFor();
  admin = new ApiClient(server.origin);
  await admin.signIn('admin', ADMIN_PASSWORD);
  assert.deepEqual(b.problems, []);
});

test('users: block, unblock, delete with confirmation, unlock a locked-out account', async () => {
  const { page } = b;
  await page.getByRole('heading', { name: 'Active users' }).waitFor();
  await page.getByLabel('Search users').fill('');
  const frank = page.getByRole('row').filter({ hasText: 'frank@example.test' });
  await page.getByRole('checkbox', { name: 'Select Frank Fields' }).check();

  // Block asks first (as Delete does); Cancel changes nothing.
  await page.getByRole('button', { name: 'Block sign-in' }).click();
  const ask = page.getByRole('dialog', { name: 'Block sign-in for Frank Fields?' });
  await ask.getByRole('button', { name: 'Cancel' }).click();
  await ask.waitFor({ state: 'hidden' });
  assert.equal((await admin.call('GET', `/users/${ids.frank}`)).disabled, false);
  await page.getByRole('button', { name: 'Block sign-in' }).click();
  await ask.getByRole('button', { name: 'Block sign-in' }).click();
  await page.locator('main').getByText('frank can no longer sign in.').waitFor();
  await frank.getByText('BLOCKED').waitFor();
  await assert.rejects(new ApiClient(server.origin).signIn('frank', 'whatever-it-is-now'), /401/);
  assert.equal((await admin.call('GET', `/users/${ids.frank}`)).disabled, true);

  await page.getByRole('button', { name: 'Unblock sign-in' }).click();
  await page.getByText('frank can sign in again.').waitFor();
  await frank.getByText('BLOCKED').waitFor({ state: 'detached' });
  assert.equal((await admin.call('GET', `/users/${ids.frank}`)).disabled, false);

  await page.getByRole('button', { name: 'Delete user' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this user?' });
  await dialog.getByText('Frank Fields (frank) will be deleted. This cannot be undone.').waitFor();
  await shot('delete-dialog');
  // Cancel keeps the user.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await admin.call('GET', `/users/${ids.frank}`)).username, 'frank');
  await page.getByRole('button', { name: 'Delete user' }).click();
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText('frank was deleted.').waitFor();
  await frank.waitFor({ state: 'detached' });
  await assert.rejects(admin.call('GET', `/users/${ids.frank}`), /404/);

  // erin was locked out by ten wrong passwords in the background.
  await lockout;
  assert.equal((await admin.call('GET', `/users/${ids.erin}`)).locked, true);
  await page.reload();
  const erin = page.getByRole('row').filter({ hasText: 'erin@example.test' });
  // The badge says when the lockout ends.
  await erin.getByText(/^LOCKED UNTIL .*\d/).waitFor();
  await page.getByRole('checkbox', { name: 'Select Erin Early' }).check();
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.getByText('erin was unlocked.').waitFor();
  await erin.getByText('LOCKED').waitFor({ state: 'detached' });
  await shot('unlocked');
  assert.equal((await admin.call('GET', `/users/${ids.erin}`)).locked, false);
  assert.deepEqual(b.problems, []);
});

test('no request left the appliance', () => {
  const foreign = b.requests.filter((u) => !u.startsWith(`${server.origin}/`) && !u.startsWith('data:'));
  assert.deepEqual(foreign, []);
});
