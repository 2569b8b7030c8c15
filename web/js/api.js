// JSON API client for /api/v1 (spec §7). Holds the CSRF token in memory only
// (the session cookie is HttpOnly); sends it on every state-changing request.
// Automatic refreshes pass {background: true} so they do not count as
// activity for the idle timeout.
let csrf = null;
let unauthorized = () => {};

export const setCsrf = (tok) => { csrf = tok || null; };
export const onUnauthorized = (fn) => { unauthorized = fn; };

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || (status ? `http_${status}` : 'network');
    this.field = e.field || null;
    this.category = e.category || null;
    this.rows = Array.isArray(e.rows) ? e.rows : null;  // CSV import: row-by-row errors
    this.retryAfter = retryAfter;
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  if (opts.background) headers['X-Background'] = '1';
  let r;
  try {
    r = await fetch(`/api/v1${path}`, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  let data = null;
  const text = await r.text();
  if (text) try { data = JSON.parse(text); } catch { data = null; }
  if (!r.ok) {
    const err = new ApiError(r.status, data, r.headers.get('Retry-After'));
    if (r.status === 401 && !opts.noAuthRedirect) unauthorized(err);
    throw err;
  }
  return data;
}

export const qs = (o) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== '' && v != null) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
};
