// Issue 21 item 7: Add users from a CSV file and Export users, through the UI
// against the real binary: the template and the export download, a file with
// bad rows shows each row's problems and creates nobody (en, zh-TW, tr-TR),
// a good file adds the users and their welcome mails arrive. Labels and roles
// from the message files; axe 0 violations on each state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startResetd, startSmtpSink, adminApi, launchSignedInAdmin, sleep, readI18n, tmpDir, OUT, checkAxe as axe, setLanguage, shot as shotOf } from '../harness.mjs';

const I18N = readI18n();
const T = (l, k, vars = {}) => I18N[l][k].replace(/\{(\w+)\}/g, (m, n) => (n in vars ? String(vars[n]) : m));
const LOCALES = ['en', 'zh-TW', 'tr-TR'];
const HEADER = 'username,display_name,email,alternate_email,locale,role';

let server;
let sink;
let admin;
let b;
const files = tmpDir('resetd-csv-');

const shot = (page, locale, name) => shotOf(page, locale, name, { fullPage: true });

function file(name, text) {
  const p = path.join(files, name);
  fs.writeFileSync(p, text);
  return p;
}

const usernames = async () => (await admin.call('GET', '/users?limit=200')).users.map((u) => u.username).sort();

before(async () => {
  sink = await startSmtpSink();
  server = await startResetd({ smtpPort: sink.port, users: [{ username: 'taken', email: 'taken@corp.example', display_name: 'Taken' }] });
  admin = await adminApi(server.origin);
  b = await launchSignedInAdmin(server.origin, 'en');
  await b.page.getByRole('heading', { name: 'Active users' }).waitFor();
});

after(async () => {
  await b?.ctx.close();
  server?.stop();
  sink?.stop();
});

test('a file with bad rows shows each row and column, in three languages, and adds nobody', async () => {
  const { page } = b;
  const bad = file('bad.csv', `\ufeff${HEADER}\r\nayse,Ayşe Yılmaz,ayse@corp.example,,tr-TR,user\r\ntaken,T,t@corp.example,,,\r\nayse,Again,again@corp.example,,,\r\nwang,王小明,not-an-address,,xx,\r\nshort,row\r\n`);
  const before = await usernames();
  for (const l of LOCALES) {
    await page.goto(`${server.origin}/#/users`);
    await setLanguage(page, l);
    await page.getByRole('button', { name: T(l, 'csv.add') }).click();
    await page.getByRole('heading', { name: T(l, 'csv.title') }).waitFor();
    await page.getByLabel(T(l, 'csv.file')).setInputFiles(bad);
    await page.getByRole('button', { name: T(l, 'csv.submit') }).click();
    const alert = page.getByRole('alert').filter({ hasText: T(l, 'csv.rowsInvalid', { n: 4 }) });
    await alert.waitFor();
    const table = page.getByRole('table', { name: T(l, 'csv.errorsCaption') });
    const rows = table.getByRole('row');
    assert.equal(await rows.count(), 1 + 5);  // header + one line a problem
    const cells = async (i) => (await rows.nth(i).getByRole('cell').allInnerTexts()).map((s) => s.trim());
    assert.deepEqual(await cells(1), ['3', `${T(l, 'users.username')} (username)`, I18N[l]['err.username_taken']]);
    assert.deepEqual(await cells(2), ['4', `${T(l, 'users.username')} (username)`, T(l, 'csv.err.duplicate_username')]);
    assert.deepEqual(await cells(3), ['5', `${T(l, 'users.email')} (email)`, I18N[l]['err.invalid_email']]);
    assert.deepEqual(await cells(4), ['5', `${T(l, 'users.locale')} (locale)`, T(l, 'csv.err.invalid_locale')]);
    assert.deepEqual(await cells(5), ['6', '—', T(l, 'csv.err.wrong_field_count')]);
    await axe(page, `${l} csv errors`);
    await shot(page, l, 'csv-import-errors');
  }
  // Excel's plain "CSV" on a Turkish Windows is Windows-1254, not UTF-8: refused, not mangled.
  const ansi = file('ansi.csv', Buffer.concat([Buffer.from(`${HEADER}\r\nilker,`), Buffer.from([0xdd, 0x6c, 0x6b, 0x65, 0x72, 0x20, 0xfd, 0x8f, 0xfe, 0x6b]), Buffer.from(',ilker@corp.example,,tr-TR,\r\n')]));
  await page.getByLabel(T('tr-TR', 'csv.file')).setInputFiles(ansi);
  await page.getByRole('button', { name: T('tr-TR', 'csv.submit') }).click();
  await page.getByRole('alert').filter({ hasText: T('tr-TR', 'csv.err.invalid_utf8') }).waitFor();
  await axe(page, 'tr-TR csv not utf-8');
  assert.deepEqual(await usernames(), before);
  assert.equal(sink.messages().length, 0);
});

test('a good file adds the users; welcome mails arrive; template and export download', async () => {
  const { page } = b;
  await page.goto(`${server.origin}/#/users`);
  await setLanguage(page, 'en');
  await page.getByRole('button', { name: T('en', 'csv.add') }).click();
  await page.getByRole('heading', { name: T('en', 'csv.title') }).waitFor();
  // The template is the header row.
  const [tpl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: T('en', 'csv.template') }).click()]);
  assert.equal(fs.readFileSync(await tpl.path(), 'utf8').replace(/^\ufeff/, ''), `${HEADER}\r\n`);
  // No file: said, nothing sent.
  await page.getByRole('button', { name: T('en', 'csv.submit') }).click();
  await page.getByRole('alert').filter({ hasText: T('en', 'csv.noFile') }).waitFor();
  const good = file('good.csv', `${HEADER}\nayse,"Yılmaz, Ayşe",ayse@corp.example,,tr-TR,user\nwang,王小明,wang@corp.example,,zh-TW,helpdesk_admin\n`);
  await page.getByLabel(T('en', 'csv.file')).setInputFiles(good);
  await page.getByRole('radio', { name: T('en', 'reset.deliverPassword') }).check();
  await page.getByRole('button', { name: T('en', 'csv.submit') }).click();
  await page.getByRole('status').filter({ hasText: T('en', 'csv.done', { n: 2 }) }).waitFor();
  await page.getByRole('heading', { name: T('en', 'csv.welcomeTitle') }).waitFor();
  const notes = page.getByRole('table', { name: T('en', 'notif.title') });
  await notes.getByRole('row').filter({ hasText: 'ayse@corp.example' }).waitFor();
  await notes.getByRole('row').filter({ hasText: 'wang@corp.example' }).waitFor();
  for (let i = 0; i < 100 && sink.messages().length < 2; i++) await sleep(200);
  const mails = sink.messages();
  assert.equal(mails.length, 2);
  await axe(page, 'en csv done');
  await shot(page, 'en', 'csv-import-done');
  assert.deepEqual(await usernames(), ['admin', 'ayse', 'taken', 'wang']);
  // Export users from Active users: the list's search as CSV.
  await page.getByRole('link', { name: T('en', 'csv.toList') }).click();
  await page.getByRole('heading', { name: 'Active users' }).waitFor();
  await page.getByLabel(T('en', 'users.search')).fill('wang');
  await sleep(600);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: T('en', 'csv.export') }).click()]);
  const text = fs.readFileSync(await dl.path(), 'utf8').replace(/^\ufeff/, '');
  const lines = text.split('\r\n');
  assert.ok(lines[0].startsWith(HEADER), lines[0]);
  assert.ok(lines[1].startsWith('wang,王小明,wang@corp.example,,zh-TW,helpdesk_admin,false,'), lines[1]);
  assert.equal(lines.length, 3);  // header, wang, and the end of the last line
  await axe(page, 'en users with export');
  await shot(page, 'en', 'csv-users-export');
  assert.deepEqual(b.problems, []);
});
