// The REST client: every call of the console to the server goes through
// here, with the bearer token of the session. Errors come back as ApiError
// with the server's stable code; a route the server does not have is
// flagged (missingRoute) so views can show "not available" instead of an
// error.

const TOKEN_KEY = 'vigil.token';

export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.requestId = requestId || '';
  }
  // missingRoute: the server has no such endpoint (or not with this
  // method), as opposed to "no such record".
  get missingRoute() {
    return (this.status === 404 && (this.code === '' || /^no endpoint/i.test(this.message))) ||
      this.status === 405 || this.status === 501;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY) || ''; },
  set token(v) {
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  role: '',
  name: '',
};

// onUnauthenticated is called when the server refuses the token (401).
let unauthenticated = () => {};
export function onUnauthenticated(fn) { unauthenticated = fn; }

function url(path, query) {
  const u = new URL(path, location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      u.searchParams.set(k, String(v));
    }
  }
  return u.pathname + u.search;
}

async function request(method, path, { query, body, token, raw } = {}) {
  const headers = { Accept: raw ? '*/*' : 'application/json' };
  const tok = token ?? session.token;
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url(path, query), { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, 'network', `Cannot reach the server: ${e.message}`);
  }
  if (!res.ok) {
    let code = '', message = '', requestId = res.headers.get('X-Request-Id') || '';
    try {
      const j = await res.json();
      if (j && j.error) {
        code = j.error.code || '';
        message = j.error.message || '';
        requestId = j.error.request_id || requestId;
      }
    } catch { /* not JSON */ }
    const err = new ApiError(res.status, code, message || `${res.status} ${res.statusText}`, requestId);
    if (res.status === 401 && token === undefined) unauthenticated(err);
    throw err;
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const api = {
  get: (path, query, opts = {}) => request('GET', path, { query, ...opts }),
  post: (path, body, opts = {}) => request('POST', path, { body, ...opts }),
  patch: (path, body) => request('PATCH', path, { body }),
  del: (path) => request('DELETE', path),
  raw: (path, query) => request('GET', path, { query, raw: true }),
};

// pages fetches a paged list (items under key) until max items or the end.
export async function pages(path, query, key, max = 1000) {
  const out = [];
  let cursor = '';
  for (;;) {
    const page = await api.get(path, { ...query, limit: Math.min(1000, max - out.length), cursor });
    out.push(...(page[key] || []));
    cursor = page.next || '';
    if (!cursor || out.length >= max) return { items: out, more: !!cursor };
  }
}

// whoAmI finds the role of a token. It asks GET /api/v1/whoami when the
// server has it; otherwise it probes: tokens are admin-only, the audit log
// is admin and auditor, alerts are every person's role.
export async function whoAmI(token) {
  try {
    const me = await api.get('/api/v1/whoami', null, { token });
    if (me && me.role) return { role: me.role, name: me.name || '' };
  } catch (e) {
    if (e.status === 401) throw e;
    if (!e.missingRoute) throw e;
  }
  const probe = async (path) => {
    try { await api.get(path, { limit: 1 }, { token }); return true; } catch (e) {
      if (e.status === 403) return false;
      throw e;
    }
  };
  if (!(await probe('/api/v1/alerts'))) {
    return { role: 'agent', name: '' };
  }
  if (await (async () => {
    try { await api.get('/api/v1/tokens', null, { token }); return true; } catch (e) {
      if (e.status === 403) return false;
      throw e;
    }
  })()) return { role: 'admin', name: '' };
  if (await probe('/api/v1/audit')) return { role: 'auditor', name: '' };
  return { role: 'analyst', name: '' };
}

// evidenceFile reads one file of an evidence package: GET
// /api/v1/evidence/{id}/file?path=…&reason=…; the server audits the
// viewing (once per viewer, package and reason).
export function evidenceFile(id, path, reason) {
  return api.raw(`/api/v1/evidence/${encodeURIComponent(id)}/file`, { path, reason });
}

// person returns what the server knows of a login: the merged directory's
// person (GET /api/v1/people/{name}: title, employment, watchlists) when
// the server has a directory, else the user directory entry with its risk
// (GET /api/v1/users/{name}), merged; null when neither knows the login.
export async function person(name) {
  const enc = encodeURIComponent(name);
  const soft = (e) => { if (e.status === 404 || e.status === 503 || e.missingRoute) return null; throw e; };
  const [p, u] = await Promise.all([
    api.get(`/api/v1/people/${enc}`).catch(soft),
    api.get(`/api/v1/users/${enc}`).catch(soft),
  ]);
  if (!p && !u) return null;
  const emp = p?.employment || {};
  return {
    ...(u || {}),
    name,
    full_name: p?.full_name || u?.full_name,
    email: p?.email || u?.email,
    title: p?.title,
    department: p?.department || u?.department,
    manager: p?.manager || u?.manager,
    employment_status: emp.status || u?.employment_status,
    end_date: emp.end_date || u?.end_date,
    notice_date: emp.notice_date,
    contractor: p?.contractor ?? u?.contractor,
    privileged: p?.privileged,
    groups: p?.groups || u?.groups,
    watchlists: p?.watchlists || u?.watchlists,
    sources: p?.sources,
    risk: u?.risk,
  };
}
