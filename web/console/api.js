// api.js — talking to the activecalls JSON:API: the token (sessionStorage only), requests
// with Accept/Authorization, 401 handling, error texts, query strings and the names cache.

const BASE = '/api/rest/admin/';
const TOKEN_KEY = 'activecalls-token';
let token = sessionStorage.getItem(TOKEN_KEY);
let onUnauthorized = () => {};

export const getToken = () => token;
export function setToken(t) {
  token = t;
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
}
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// The token's exp (seconds since 1970), or null; only read to explain a 401 and show the session end.
export function tokenExp(t = token) {
  try {
    const part = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part)).exp ?? null;
  } catch { return null; }
}

export function unauthorizedReason() {
  const exp = tokenExp();
  if (exp && Date.now() / 1000 >= exp - 1) return 'Your session expired; log in again.';
  return 'The server no longer accepts your session (logged out, user disabled or address not allowed); log in again.';
}

export class Unauthorized extends Error {}

// [[key, value], ...] → "k=v&..." with filter[...] style keys encoded.
export function qs(params) {
  return params.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
}

export function url(path, params = []) {
  const q = qs(params);
  return BASE + path + (q ? '?' + q : '');
}

// One request. Resolves to {status, ok, body, etag, headers}; throws Unauthorized on 401
// (after calling the handler) and TypeError when the server cannot be reached.
export async function request(path, { params = [], method = 'GET', etag = null, headers = {}, body } = {}) {
  const h = { Accept: 'application/vnd.api+json', ...headers };
  if (token) h.Authorization = 'Bearer ' + token;
  if (etag) h['If-None-Match'] = etag;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(url(path, params), {
    method, headers: h, cache: 'no-store', credentials: 'omit',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let doc = null;
  if (res.status !== 204 && res.status !== 304) {
    const text = await res.text();
    if (text) { try { doc = JSON.parse(text); } catch { doc = null; } }
  }
  if (res.status === 401 && path !== 'auth') {
    onUnauthorized(unauthorizedReason());
    throw new Unauthorized('401');
  }
  return { status: res.status, ok: res.ok, body: doc, etag: res.headers.get('ETag'), headers: res.headers };
}

// "detail; detail" from a JSON:API errors document, or a fallback.
export function errorText(res, fallback = '') {
  const errs = res && res.body && Array.isArray(res.body.errors) ? res.body.errors : [];
  const t = errs.map(e => e.detail || e.title).filter(Boolean).join('; ');
  return t || fallback || (res ? `HTTP ${res.status}` : 'no answer');
}

// Names of related records: filled from every `included`, looked up one by one otherwise.
const LABEL_FIELD = { destinations: 'prefix', dialpeers: 'prefix' };
const names = new Map(); // "type/id" → label
const pending = new Map();

export function labelOf(resource) {
  if (!resource) return '';
  const a = resource.attributes || {};
  return a[LABEL_FIELD[resource.type] || 'name'] ?? a.name ?? a.prefix ?? `#${resource.id}`;
}

export function remember(included) {
  for (const r of included || []) names.set(r.type + '/' + r.id, labelOf(r));
}

export const knownName = (type, id) => names.get(type + '/' + id);

// Resolves a name by GET /{type}/{id}?fields[type]=name (once per record).
export function lookupName(type, id) {
  const key = type + '/' + id;
  if (names.has(key)) return Promise.resolve(names.get(key));
  if (pending.has(key)) return pending.get(key);
  const field = LABEL_FIELD[type] || 'name';
  const p = request(`${type}/${encodeURIComponent(id)}`, { params: [[`fields[${type}]`, field]] })
    .then(res => {
      const label = res.ok && res.body && res.body.data ? labelOf(res.body.data) : `#${id}`;
      if (res.ok) names.set(key, label);
      return label;
    })
    .catch(e => { if (e instanceof Unauthorized) throw e; return `#${id}`; })
    .finally(() => pending.delete(key));
  pending.set(key, p);
  return p;
}

export function nameFields(types) {
  return types.map(t => [`fields[${t}]`, LABEL_FIELD[t] || 'name']);
}
