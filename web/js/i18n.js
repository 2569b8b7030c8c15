// Messages from i18n/<locale>.json; locale from localStorage, else
// navigator.languages (the browser's Accept-Language), else English.
// Dates and numbers go through Intl; case changes and search folding use the
// locale's rules (Turkish i/İ, ı/I).
export const LOCALES = ['en', 'zh-TW', 'tr-TR'];
const KEY = 'resetd.locale';
let dict = {};
let base = {};
export let locale = 'en';

export function pickLocale() {
  let saved = null;
  try { saved = localStorage.getItem(KEY); } catch { /* storage off */ }
  if (LOCALES.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const lower = l.toLowerCase();
    const hit = LOCALES.find((x) => x.toLowerCase() === lower) ||
      LOCALES.find((x) => x.slice(0, 2) === lower.slice(0, 2));
    if (hit) return hit;
  }
  return 'en';
}

async function load(l) {
  const r = await fetch(`i18n/${l}.json`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`i18n ${l}: ${r.status}`);
  return r.json();
}

export async function setLocale(l, remember) {
  if (!LOCALES.includes(l)) l = 'en';
  if (!Object.keys(base).length) base = await load('en');
  dict = l === 'en' ? base : await load(l);
  locale = l;
  document.documentElement.lang = l;
  if (remember) try { localStorage.setItem(KEY, l); } catch { /* storage off */ }
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}

export const has = (k) => k in dict || k in base;

export function t(key, vars) {
  let s = dict[key] ?? base[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, n) => (n in vars ? String(vars[n]) : m));
  return s;
}

// Times are shown in the appliance's zone, the one its mails use, and say
// which ("(UTC)", "(UTC+03:00)"), so an admin reading an expiry aloud reads
// the hour the user's mail shows, whatever zone the browser is in.
// setZone(healthz.time_zone): its IANA name, else its offset; else UTC.
let zone = 'UTC';
export function setZone(z) {
  const off = Number(z?.offset_s) || 0;
  const a = Math.abs(off);
  const fixed = off ? `${off < 0 ? '-' : '+'}${String(Math.floor(a / 3600)).padStart(2, '0')}:${String(Math.floor((a % 3600) / 60)).padStart(2, '0')}` : 'UTC';
  for (const c of [z?.name, fixed, 'UTC']) {
    try { if (c) { new Intl.DateTimeFormat('en', { timeZone: c }); zone = c; return; } } catch { /* not known to this browser */ }
  }
}

// Formatters are costly to make and a list shows hundreds of times.
const fmts = new Map();
function fmt(l, o) {
  const k = `${l} ${JSON.stringify(o)}`;
  if (!fmts.has(k)) fmts.set(k, new Intl.DateTimeFormat(l, o));
  return fmts.get(k);
}

export function date(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  // zh-TW's timeStyle uses flexible day periods ("清晨7:45"); an office
  // clock says 上午 / 下午, which the explicit fields give.
  const o = locale === 'zh-TW' ? { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' } : { dateStyle: 'medium', timeStyle: 'short' };
  const time = fmt(locale, { ...o, timeZone: zone }).format(d);
  const off = fmt('en', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value || 'GMT';
  return t('time.zoned', { time, zone: /^GMT([+-]00:00)?$/.test(off) ? 'UTC' : off.replace(/^GMT/, 'UTC') });
}

// A calendar day typed in a date field, as the instant it starts in the
// appliance's zone (RFC 3339 UTC).
export function dayStart(day) {
  const guess = new Date(`${day}T00:00:00Z`);
  const off = new Intl.DateTimeFormat('en', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(guess).find((p) => p.type === 'timeZoneName')?.value || 'GMT';
  const m = off.match(/GMT([+-])(\d\d):(\d\d)/);
  const s = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60) : 0;
  return new Date(guess.getTime() - s * 1000).toISOString().replace('.000', '');
}

// A count's message in the locale's plural form: key.one etc. where the
// language has it ("1 entry" / "2 entries"), else key; {n} is the number.
export function pluralKey(key, n) {
  const cat = new Intl.PluralRules(locale).select(n);
  return has(`${key}.${cat}`) ? `${key}.${cat}` : key;
}
export const tn = (key, n, vars = {}) => t(pluralKey(key, n), { ...vars, n: num(n) });

export const num = (n) => new Intl.NumberFormat(locale).format(n);
export const upper = (s) => String(s).toLocaleUpperCase(locale);

// One letter per letter: lower-cased by the locale's rules, with Turkish
// dotted/dotless i in either case folded together, so "istanbul",
// "İSTANBUL" and "ISTANBUL" all match under every locale.
export function foldChars(s) {
  return Array.from(String(s).normalize('NFC'), (c) => {
    const f = c.toLocaleLowerCase(locale);
    return f === 'ı' || f.startsWith('i') ? 'i' : f.length > 1 ? c.toLowerCase() : f;
  });
}
export const fold = (s) => foldChars(s).join('');
