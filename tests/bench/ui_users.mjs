// Benchmark (not a test): time from pressing "Sign in" to the first page of
// Active users being drawn, with 10,000 users, in Debian's Chromium, default
// Argon2id parameters. Run: node tests/bench/ui_users.mjs [RESETD_BIN]
// (uses tests/browser's node_modules; bash build.sh test installs them).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ADMIN_INITIAL, ADMIN_PASSWORD, adminApi, freePort, launch, sleep, tmpDir } from '../browser/harness.mjs';

const BIN = process.argv[2] || process.env.RESETD_BIN || path.resolve('build/firmware-app/resetd');
const USERS = 10000;
const RUNS = 7;

const dataDir = path.join(tmpDir('resetd-bench-'), 'data');
const port = await freePort();
const origin = `http://127.0.0.1:${port}`;
spawnSync(BIN, ['init', '--data-dir', dataDir, '--admin', 'admin', '--password-stdin'], { input: ADMIN_INITIAL });
const server = spawn(BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--no-tls'], { stdio: 'ignore' });
try {
  for (let i = 0; i < 100; i++) { try { if ((await fetch(`${origin}/api/v1/healthz`)).ok) break; } catch { /* not yet */ } await sleep(100); }
  await adminApi(origin);  // sets the lasting admin password
  // 10,000 users straight into the database (a second writer, WAL): fast setup.
  const py = `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); now = int(time.time())
db.executemany("INSERT INTO users (username, display_name, email, role, locale, search_text, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
  [("user%05d" % i, "User %05d" % i, "user%05d@example.org" % i, "user", "en", "user%05d\\nuser %05d\\nuser%05d@example.org\\n" % (i, i, i), now, now) for i in range(${USERS})])
db.commit()`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, path.join(dataDir, 'resetd.db')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);

  const times = [];
  for (let run = 0; run < RUNS; run++) {
    const b = await launch('en', { width: 1024, height: 600 });
    await b.page.goto(`${origin}/`);
    await b.page.locator('input[name=username]').fill('admin');
    await b.page.locator('input[name=password]').fill(ADMIN_PASSWORD);
    const t0 = Date.now();  // from pressing "Sign in"
    await b.page.locator('form button[type=submit]').click();
    // Checked every animation frame: locator polling would add up to 100 ms.
    await b.page.waitForFunction(
      () => document.querySelectorAll('table.users tbody input[type=checkbox]').length >= 50,
      null, { polling: 'raf', timeout: 30000 });
    times.push(Date.now() - t0);
    await b.page.getByRole('heading', { name: 'Active users' }).waitFor();  // the right page
    await b.ctx.close();
  }
  times.sort((a, b) => a - b);
  console.log(`sign-in -> first page of Active users (${USERS + 1} users, 50 rows), n=${RUNS}: ` +
              `median ${times[Math.floor(RUNS / 2)]} ms, min ${times[0]} ms, max ${times[RUNS - 1]} ms`);
} finally {
  server.kill('SIGTERM');
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
}
