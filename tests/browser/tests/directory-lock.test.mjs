// A lockout the directory set (slapd ppolicy pwdAccountLockedTime, via
// tests/integration/slapd_serve.py) shows in the UI as "Locked in the
// directory"; Unlock in the user's details clears it there, and the Reset
// password panel offers "Also unlock the account" (on) so the new password
// works at once. Labels and roles only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { startResetd, adminApi, launch, signInUi, HERE, ADMIN_PASSWORD } from '../harness.mjs';

let slapd;
let server;
let admin;
const BOB = 'uid=bob,ou=people,dc=example,dc=test';

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

// ldapwhoami as bob: its output (ppolicy says "Account locked" when locked).
function whoami(password) {
  const r = spawnSync('ldapwhoami', ['-x', '-H', slapd.ldaps_url, '-e', 'ppolicy', '-D', BOB, '-w', password],
    { encoding: 'utf8', env: { ...process.env, LDAPTLS_CACERT: slapd.ca, LDAPTLS_REQCERT: 'demand' } });
  return { rc: r.status, out: r.stdout + r.stderr };
}
function lockBob() {
  for (let i = 0; i < 3; i++) whoami(`bad-guess-${i}`);
  assert.match(whoami('BobInit-11').out, /Account locked/);
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

test('directory lock: shown, Unlock in the details, and "Also unlock" with a reset', async () => {
  lockBob();
  assert.equal((await admin.call('POST', '/directory/sync', {})).ok, true);
  const b = await launch('en', { width: 1024, height: 700 });
  const { page } = b;
  try {
    await page.goto(`${server.origin}/#/signin`);
    await signInUi(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Active users' }).waitFor();
    await page.getByRole('button', { name: 'Bob Builder' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('LOCKED IN THE DIRECTORY').waitFor();
    await dialog.getByRole('button', { name: 'Unlock' }).click();
    await page.getByText('bob was unlocked.').waitFor();
    const ok = whoami('BobInit-11');
    assert.equal(ok.rc, 0, ok.out);

    // locked again; the reset panel offers to unlock too, ticked
    lockBob();
    assert.equal((await admin.call('POST', '/directory/sync', {})).ok, true);
    await page.reload();
    await page.getByRole('checkbox', { name: 'Select Bob Builder' }).check();
    await page.getByRole('button', { name: 'Reset password', exact: true }).click();
    await page.getByRole('heading', { name: 'Reset password' }).waitFor();
    const also = page.getByRole('checkbox', { name: 'Also unlock the account' });
    assert.ok(await also.isChecked());
    await page.getByLabel('Email the password', { exact: true }).check();
    await page.getByLabel('Email the new password to the following recipients').fill('bob.home@example.test');
    await page.getByRole('button', { name: 'Reset', exact: true }).click();
    const pwBox = page.getByLabel('New password for bob');
    await pwBox.waitFor();
    const r = whoami(await pwBox.inputValue());
    assert.doesNotMatch(r.out, /Account locked/);
    assert.match(r.out, /Password must be changed/);
    assert.deepEqual(b.problems, []);
  } finally {
    await b.ctx.close();
  }
});
