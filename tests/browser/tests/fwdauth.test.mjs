// Forward auth in the browser: a proxy sent the person to /?rd=<page>#/signin; after
// signing in (also after a forced password change first) the browser lands on that
// page, and a return address the config does not list is refused before sign-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startResetd, adminApi, launch, signInUi, freePort } from '../harness.mjs';

let server;
let admin;
let app;
let appOrigin;

before(async () => {
  const port = await freePort();
  appOrigin = `http://127.0.0.1:${port}`;
  // the "other web app": answers every page with its path
  app = http.createServer((req, res) => { res.setHeader('Content-Type', 'text/html'); res.end(`<title>app</title><h1>landed ${req.url}</h1>`); });
  await new Promise((r) => app.listen(port, '127.0.0.1', r));
  server = await startResetd({ extraToml: `\n[forward_auth]\nenabled = true\nallowed_redirect_origins = ["${appOrigin}"]\n` });
  admin = await adminApi(server.origin);
  await admin.call('POST', '/users', { username: 'gina', display_name: 'Gina', email: 'gina@example.test', mode: 'manual',
    password: 'Meadow-Quartz-Falcon-5150', require_change: false, notify: [], notify_user: false });
  await admin.call('POST', '/users', { username: 'hal', display_name: 'Hal', email: 'hal@example.test', mode: 'manual',
    password: 'Saffron-Tundra-Piano-3141', require_change: true, notify: [], notify_user: false });
});

after(() => { server?.stop(); app?.close(); });

const signInPage = (rd) => `${server.origin}/?rd=${encodeURIComponent(rd)}#/signin`;

test('sign-in sends the browser on to the configured page it came from', async () => {
  const b = await launch('en');
  try {
    const { page } = b;
    await page.goto(signInPage(`${appOrigin}/wiki?x=1`));
    await signInUi(page, 'gina', 'Meadow-Quartz-Falcon-5150');
    await page.waitForURL(`${appOrigin}/wiki?x=1`);
    assert.equal(await page.locator('h1').textContent(), 'landed /wiki?x=1');
    // signed in already: the sign-in page passes straight through
    await page.goto(signInPage(`${appOrigin}/again`));
    await page.waitForURL(`${appOrigin}/again`);
    assert.deepEqual(b.problems, []);
  } finally {
    await b.ctx.close();
  }
});

test('a must-change user changes the password first, then lands on the page', async () => {
  const b = await launch('en');
  try {
    const { page } = b;
    await page.goto(signInPage(`${appOrigin}/after-change`));
    await signInUi(page, 'hal', 'Saffron-Tundra-Piano-3141');
    await page.locator('input[name=current_password]').waitFor();
    await page.locator('input[name=current_password]').fill('Saffron-Tundra-Piano-3141');
    await page.locator('input[name=new_password]').fill('Harbor-Lantern-Violet-9034');
    await page.locator('input[name=again]').fill('Harbor-Lantern-Violet-9034');
    await page.locator('form button[type=submit]').click();
    await page.waitForURL(`${appOrigin}/after-change`);
    assert.deepEqual(b.problems, []);
  } finally {
    await b.ctx.close();
  }
});

test('a return address that is not configured is refused before sign-in', async () => {
  for (const rd of ['https://evil.example/', `${appOrigin}@evil.example/`, '//evil.example/']) {
    const b = await launch('en');
    try {
      const { page } = b;
      await page.goto(signInPage(rd));
      await page.getByText('You were sent here from a site this appliance does not know').waitFor();
      await signInUi(page, 'gina', 'Meadow-Quartz-Falcon-5150');
      await page.getByRole('heading', { name: 'Change your password' }).or(page.getByRole('heading', { level: 1 })).first().waitFor();
      await page.waitForTimeout(500);
      assert.ok(page.url().startsWith(server.origin), `left for ${page.url()}`);
      assert.ok(!b.requests.some((u) => u.includes('evil.example') && !u.startsWith(server.origin)), 'a request went to evil.example');
    } finally {
      await b.ctx.close();
    }
  }
});
