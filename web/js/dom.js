// Tiny DOM builder: every page is built from elements, never from HTML
// strings, so user data can't inject markup and the strict CSP holds.
const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'required', 'readOnly', 'multiple', 'indeterminate', 'open']);
let seq = 0;

export const uid = (p = 'id') => `${p}-${++seq}`;

export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  add(el, kids);
  return el;
}

function add(el, kids) {
  for (const k of kids) {
    if (k == null || k === false) continue;
    if (Array.isArray(k)) add(el, k);
    else el.append(k instanceof Node ? k : String(k));
  }
}

// An address that may wrap after "@" and before dots, never inside a word
// (with .email's overflow-wrap: break-word as the last resort).
export function wbr(text) {
  const out = [];
  String(text || '').split(/(?=[@.])/).forEach((p, i) => { if (i) out.push(document.createElement('wbr')); out.push(p); });
  return out;
}
export function email(addr) {
  const el = document.createElement('span');
  el.className = 'email';
  el.append(...wbr(addr));
  return el;
}

export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
