// The console's entry point: sign-in, the role-aware shell and the
// hash router (#/alerts, #/alerts/ID, #/people/NAME …). Each view module
// exports render(ctx) and may return a cleanup function that the router
// calls when the view is left (to stop polling or playback).

import { api, session, whoAmI, onUnauthenticated, ApiError } from './api.js';
import { h, replace, field, toast, errorPanel, loading } from './dom.js';
import * as overview from './views/overview.js';
import * as alerts from './views/alerts.js';
import * as alert from './views/alert.js';
import * as people from './views/people.js';
import * as person from './views/person.js';
import * as policies from './views/policies.js';
import * as agents from './views/agents.js';
import * as audit from './views/audit.js';
import * as admin from './views/admin.js';

const ROLE_KEY = 'vigil.role';

// The pages, in navigation order, with the roles that see them.
const PAGES = [
  { path: 'overview', title: 'Overview', roles: ['admin', 'analyst', 'auditor'], view: overview },
  { path: 'alerts', title: 'Alerts', roles: ['admin', 'analyst', 'auditor'], view: alerts },
  { path: 'people', title: 'People', roles: ['admin', 'analyst', 'auditor'], view: people },
  { path: 'policies', title: 'Policies', roles: ['admin', 'analyst', 'auditor'], view: policies },
  { path: 'agents', title: 'Agents', roles: ['admin', 'analyst', 'auditor'], view: agents },
  { path: 'audit', title: 'Audit log', roles: ['admin', 'auditor'], view: audit },
  { path: 'admin', title: 'Administration', roles: ['admin'], view: admin },
];
const DETAIL = { alerts: alert, people: person };
const LANDING = { admin: 'overview', analyst: 'alerts', auditor: 'audit' };

const root = document.getElementById('app');
let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(queryPart) };
}

// navigate changes the hash; replace keeps the history entry (filters).
export function navigate(hash, { replace: rep = false } = {}) {
  if (rep) history.replaceState(null, '', hash); else location.hash = hash;
  if (rep) route();
}

function signOut(message) {
  session.token = '';
  sessionStorage.removeItem(ROLE_KEY);
  session.role = '';
  if (cleanup) { try { cleanup(); } catch { /* view already gone */ } cleanup = null; }
  showSignIn(message);
}

onUnauthenticated(() => signOut('The server no longer accepts this token. Sign in again.'));

function showSignIn(message) {
  document.title = 'Sign in · Vigil';
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-help' });
  const err = h('p', { class: 'form-error', role: 'alert', id: 'signin-error' });
  if (message) err.textContent = message;
  const btn = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = h('form', { class: 'signin-form', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, logo(), ' Vigil'),
    h('p', { class: 'muted', text: 'Insider threat management console' }),
    field('API token', input),
    h('p', { id: 'token-help', class: 'muted small', text: 'Paste the token you were given (vigil run prints the first admin token and keeps it in DATA_DIR/admin-token). It stays in this browser tab only and is forgotten when the tab closes.' }),
    err, btn);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const tok = input.value.trim();
    if (!tok) { err.textContent = 'Enter a token.'; input.focus(); return; }
    btn.disabled = true;
    btn.textContent = 'Checking…';
    err.textContent = '';
    try {
      const me = await whoAmI(tok);
      if (me.role === 'agent') {
        err.textContent = 'This is an agent token: agents send events but cannot use the console. Use an admin, analyst or auditor token.';
        return;
      }
      session.token = tok;
      session.role = me.role;
      session.name = me.name;
      sessionStorage.setItem(ROLE_KEY, me.role);
      if (!parseHash().parts.length) history.replaceState(null, '', `#/${LANDING[me.role] || 'alerts'}`);
      route();
    } catch (e) {
      err.textContent = e instanceof ApiError && e.status === 401
        ? 'The server does not accept this token (unknown, revoked or expired).'
        : `Sign-in failed: ${e.message}`;
      input.focus();
    } finally {
      btn.disabled = false;
      btn.textContent = 'Sign in';
    }
  });
  replace(root, h('main', { class: 'signin', id: 'main' }, form));
  input.focus();
}

function logo() {
  const img = h('img', { src: 'favicon.svg', alt: '', width: 28, height: 28, class: 'logo' });
  return img;
}

function shell(active) {
  const pages = PAGES.filter(p => p.roles.includes(session.role));
  const nav = h('nav', { class: 'sidebar', 'aria-label': 'Main' },
    h('a', { class: 'brand', href: `#/${LANDING[session.role] || 'alerts'}` }, logo(), h('span', { text: 'Vigil' })),
    h('ul', {}, pages.map(p => h('li', {},
      h('a', { href: `#/${p.path}`, 'aria-current': p.path === active ? 'page' : false, text: p.title })))),
    h('div', { class: 'whoami' },
      h('span', { class: 'muted small', text: 'Signed in as' }),
      h('span', { class: 'role-badge', 'data-testid': 'role', text: session.name ? `${session.name} (${session.role})` : session.role }),
      h('button', { type: 'button', class: 'link-button', onclick: () => signOut(), text: 'Sign out' })));
  const main = h('main', { id: 'main', tabindex: '-1', class: 'content' });
  replace(root, h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); }, text: 'Skip to content' }), nav, main);
  return main;
}

async function route() {
  if (!session.token) { showSignIn(); return; }
  if (!session.role) {
    session.role = sessionStorage.getItem(ROLE_KEY) || '';
    if (!session.role) {
      try {
        const me = await whoAmI(session.token);
        session.role = me.role; session.name = me.name;
        sessionStorage.setItem(ROLE_KEY, me.role);
      } catch (e) { signOut(e.message); return; }
    }
  }
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const { parts, query } = parseHash();
  let [section, ...rest] = parts;
  if (!section) { navigate(`#/${LANDING[session.role] || 'alerts'}`, { replace: true }); return; }
  const page = PAGES.find(p => p.path === section);
  const main = shell(section);
  if (!page || !page.roles.includes(session.role)) {
    document.title = 'Not found · Vigil';
    replace(main, h('h1', { text: 'Not here' }), h('p', { text: page ? 'Your role may not see this page.' : 'There is no such page.' }));
    return;
  }
  const view = rest.length && DETAIL[section] ? DETAIL[section] : page.view;
  document.title = `${page.title} · Vigil`;
  main.append(loading());
  const ctx = { main, params: rest, query, session, api, navigate, setTitle: (t) => { document.title = `${t} · Vigil`; } };
  try {
    const c = await view.render(ctx);
    if (typeof c === 'function') cleanup = c;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    replace(main, errorPanel(e));
    toast(e.message, 'error');
  }
  // Move focus to the new page for keyboard and screen-reader users,
  // unless the view put it somewhere on purpose.
  if (!main.contains(document.activeElement) || document.activeElement === document.body) main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);
route();
