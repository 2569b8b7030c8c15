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

// Each language's import adds one tr-TR and one zh-TW user: their welcome mails
// are in the user's language whatever the admin's, with the subject RFC 2047-decoded.
const GOOD = {
  en: { delivery: 'reset.deliverPassword', rows: ['ayse,"Yılmaz, Ayşe",ayse@corp.example,,tr-TR,user', 'wang,王小明,wang@corp.example,,zh-TW,helpdesk_admin'], find: 'wang', line: 'wang,王小明,wang@corp.example,,zh-TW,helpdesk_admin,false,' },
  'zh-TW': { delivery: 'reset.deliverPassword', rows: ['emre,Emre Şahin,emre@corp.example,,tr-TR,user', 'lin,林美玲,lin@corp.example,,zh-TW,user'], find: '林美玲', line: 'lin,林美玲,lin@corp.example,,zh-TW,user,false,' },
  'tr-TR': { delivery: 'reset.deliverLink', rows: ['ilkay,İlkay Öztürk,ilkay@corp.example,,tr-TR,user', 'chen,陳大文,chen@corp.example,,zh-TW,user'], find: 'İLKAY', line: 'ilkay,İlkay Öztürk,ilkay@corp.example,,tr-TR,user,false,' },
};
// The templates' subjects (firmware-app/notify/src/templates.cpp).
const WELCOME = {
  'reset.deliverPassword': { 'tr-TR': 'Hoş geldiniz: yeni hesabınız', 'zh-TW': '歡迎：您的新帳戶' },
  'reset.deliverLink': { 'tr-TR': 'Hoş geldiniz: yeni hesabınızın parolasını belirleyin', 'zh-TW': '歡迎：設定您新帳戶的密碼' },
};
const GREETING = { 'tr-TR': /^Merhaba /, 'zh-TW': / 您好：/ };

test('a good file adds the users in three languages; welcome mails in the user\'s language; template and export download', async () => {
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
  const added = ['admin', 'taken'];
  for (const l of LOCALES) {
    const g = GOOD[l];
    if (l !== 'en') {
      await page.goto(`${server.origin}/#/users`);
      await setLanguage(page, l);
      await page.getByRole('button', { name: T(l, 'csv.add') }).click();
      await page.getByRole('heading', { name: T(l, 'csv.title') }).waitFor();
    }
    const good = file(`good-${l}.csv`, `${HEADER}\n${g.rows.join('\n')}\n`);
    const emails = g.rows.map((r) => r.match(/[\w.]+@corp\.example/)[0]);
    await page.getByLabel(T(l, 'csv.file')).setInputFiles(good);
    await page.getByRole('radio', { name: T(l, g.delivery) }).check();
    await page.getByRole('button', { name: T(l, 'csv.submit') }).click();
    await page.getByRole('status').filter({ hasText: T(l, 'csv.done', { n: 2 }) }).waitFor();
    await page.getByRole('heading', { name: T(l, 'csv.welcomeTitle') }).waitFor();
    const notes = page.getByRole('table', { name: T(l, 'notif.title') });
    for (const e of emails) await notes.getByRole('row').filter({ hasText: e }).waitFor();
    const mine = () => sink.messages().filter((m) => emails.some((e) => (m.headers.to || '').includes(e)));
    for (let i = 0; i < 100 && mine().length < 2; i++) await sleep(200);
    const mails = mine();
    assert.equal(mails.length, 2, `${l}: welcome mails`);
    // The table follows the delivery: each row then says Sent.
    for (const e of emails) await notes.getByRole('row').filter({ hasText: e }).getByText(T(l, 'state.sent').toLocaleUpperCase(l)).waitFor({ timeout: 10000 });
    for (const [row, e] of g.rows.map((r, i) => [r, emails[i]])) {
      const ul = row.split(',').at(-2);
      const m = mails.find((x) => x.headers.to.includes(e));
      assert.equal(m.subject, WELCOME[g.delivery][ul], `${l}: subject to ${e}`);
      assert.match(m.body, GREETING[ul], `${l}: body to ${e}`);
      assert.doesNotMatch(m.body, /\bHello\b|\bWelcome\b/, `${l}: English in the mail to ${e}`);
    }
    await axe(page, `${l} csv done`);
    await shot(page, l, 'csv-import-done');
    added.push(...g.rows.map((r) => r.split(',')[0]));
    assert.deepEqual(await usernames(), [...added].sort());
    // Export users from Active users: the list's search as CSV.
    await page.getByRole('link', { name: T(l, 'csv.toList') }).click();
    await page.getByRole('heading', { name: T(l, 'users.title') }).waitFor();
    await page.getByLabel(T(l, 'users.search')).fill(g.find);
    await sleep(600);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: T(l, 'csv.export') }).click()]);
    const text = fs.readFileSync(await dl.path(), 'utf8').replace(/^\ufeff/, '');
    const lines = text.split('\r\n');
    assert.ok(lines[0].startsWith(HEADER), lines[0]);
    assert.ok(lines[1].startsWith(g.line), `${l}: ${lines[1]}`);
    assert.equal(lines.length, 3, `${l}: ${text}`);  // header, the one match, and the end of the last line
    await axe(page, `${l} users with export`);
    await shot(page, l, 'csv-users-export');
  }
  assert.deepEqual(b.problems, []);
});
