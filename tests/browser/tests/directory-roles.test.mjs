// Settings → Directory → "Staff roles from directory groups" against a real
// slapd (tests/integration/slapd_serve.py): rows added, checked and removed
// in the UI, saved through PUT /settings/directory, stored as the API shows
// it, axe-clean, and in effect: a member of the mapped group signs in with
// that role.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { startResetd, adminApi, ApiClient, launch, signInUi, HERE, OUT, ADMIN_PASSWORD } from '../harness.mjs';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const HELPDESK = 'cn=helpdesk,ou=groups,dc=example,dc=test';
let slapd;
let server;
let admin;

function startSlapd() {
  const dir = path.join(HERE, '..', 'integration');
  const proc = spawn('/usr/bin/python3', [path.join(dir, 'slapd_serve.py')], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('slapd did not start')), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve({ ...JSON.parse(out), stop: () => proc.stdin.end() }); }
    });
    proc.on('exit', (c) => reject(new Error(`slapd_serve exited ${c}`)));
  });
}

before(async () => {
  slapd = await startSlapd();
  server = await startResetd({ extraToml: `\n${slapd.toml}` });
  admin = await adminApi(server.origin);
});

after(async () => {
  server?.stop();
  slapd?.stop();
});

test('directory roles: add, check and remove rows, save, stored, axe-clean, in effect at sign-in', async () => {
  const b = await launch('en', { width: 1024, height: 600 });
  const { page } = b;
  try {
    await page.goto(`${server.origin}/#/signin`);
    await signInUi(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Active users' }).waitFor();
    await page.getByRole('link', { name: 'Settings' }).click();
    const dir = page.getByRole('region', { name: 'Directory' });
    const roles = dir.getByRole('group', { name: 'Staff roles from directory groups' });
    await roles.getByText('No groups listed').waitFor();

    await roles.getByRole('button', { name: 'Add group' }).click();
    // the new row's DN field has the focus
    assert.equal(await page.evaluate(() => document.activeElement.closest('.map-row') !== null && document.activeElement.tagName), 'INPUT');
    await roles.getByLabel('Group DN 1').fill(HELPDESK);
    await roles.getByLabel('Role for group 1').selectOption('helpdesk_admin');
    await roles.getByRole('button', { name: 'Add group' }).click();
    await roles.getByLabel('Role for group 2').selectOption('global_admin');
    await dir.getByRole('button', { name: 'Save' }).click();
    // an empty DN is caught here, on its own row, and nothing is saved
    await roles.getByText("Enter the group's DN, or remove the row.").waitFor();
    assert.equal(await roles.getByLabel('Group DN 2').getAttribute('aria-invalid'), 'true');
    assert.deepEqual((await admin.call('GET', '/settings/directory')).roles, {});
    // the same group twice is caught too
    await roles.getByLabel('Group DN 2').fill(HELPDESK.toUpperCase());
    await dir.getByRole('button', { name: 'Save' }).click();
    await roles.getByText('This group is already listed.').waitFor();

    await page.evaluate(axeSource);
    const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    assert.deepEqual(res.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`), []);
    await page.screenshot({ path: path.join(OUT, 'directory-roles.png'), fullPage: true });

    await roles.getByRole('button', { name: 'Remove group 2' }).click();
    assert.equal(await roles.getByLabel('Group DN 2').count(), 0);
    await dir.getByRole('button', { name: 'Save' }).click();
    await dir.getByText('Saved. The change is in effect now.').waitFor();
    const saved = await admin.call('GET', '/settings/directory');
    assert.deepEqual(saved.roles, { [HELPDESK]: 'helpdesk_admin' });
    assert.equal(saved.bind_password_set, true);  // the untouched secret was kept
    assert.deepEqual(b.problems, []);
  } finally {
    await b.ctx.close();
  }

  // In effect: the next sync gives hana (a member) the role, and her sign-in has it.
  const sync = await admin.call('POST', '/directory/sync', {});
  assert.equal(sync.ok, true);
  const hana = (await admin.call('GET', '/users?q=hana')).users.find((u) => u.username === 'hana');
  assert.equal(hana.role, 'helpdesk_admin');
  const staff = new ApiClient(server.origin);
  const s = await staff.signIn('hana', 'Hana-Staff-Pw-77');
  assert.equal((s.user || s).role, 'helpdesk_admin');
  assert.ok((await staff.call('GET', '/users')).users.length > 0);
});
