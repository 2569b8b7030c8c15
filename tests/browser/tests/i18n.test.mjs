// web/i18n/<locale>.json is the source a translator edits (one file per
// language, as Authelia and Keycloak keep theirs). This keeps every file in
// step with en.json: the same keys, the same {placeholders} in each message,
// no empty message, valid JSON. A new language is one new file here plus its
// code in web/js/i18n.js LOCALES.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE } from '../harness.mjs';

const DIR = path.join(HERE, '..', '..', 'web', 'i18n');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const load = (f) => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8'));
const holes = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every locale file is a flat object of non-empty strings', () => {
  assert.ok(files.includes('en.json'));
  assert.ok(files.length >= 3, files.join(', '));
  for (const f of files) {
    const d = load(f);
    for (const [k, v] of Object.entries(d)) {
      assert.equal(typeof v, 'string', `${f}: ${k}`);
      assert.ok(v.trim().length > 0, `${f}: ${k} is empty`);
    }
  }
});

test('every locale has exactly the keys of en.json', () => {
  const en = Object.keys(load('en.json')).sort();
  for (const f of files) {
    const keys = Object.keys(load(f)).sort();
    assert.deepEqual(en.filter((k) => !keys.includes(k)), [], `${f} misses these keys`);
    assert.deepEqual(keys.filter((k) => !en.includes(k)), [], `${f} has keys en.json lacks`);
  }
});

test('every message keeps the placeholders of its English original', () => {
  const en = load('en.json');
  for (const f of files) {
    const d = load(f);
    for (const k of Object.keys(en)) assert.deepEqual(holes(d[k]), holes(en[k]), `${f}: ${k} = ${JSON.stringify(d[k])}`);
  }
});

test('the UI knows every locale file and nothing generates them', () => {
  const js = fs.readFileSync(path.join(HERE, '..', '..', 'web', 'js', 'i18n.js'), 'utf8');
  for (const f of files) assert.ok(js.includes(`'${f.replace(/\.json$/, '')}'`), `${f} not in LOCALES of web/js/i18n.js`);
  assert.deepEqual(fs.readdirSync(DIR).filter((f) => !f.endsWith('.json')), []);
});
