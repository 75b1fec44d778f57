// The audit log: who did what to which record, when, why, under which
// request id; filtered by actor, action, target and time.

import { api } from '../api.js';
import { h, replace, timeEl, field, debounce, alertHref } from '../dom.js';

const KNOWN = ['evidence.view', 'evidence.download', 'evidence.verify', 'alert.update', 'bundle.upload', 'bundle.activate', 'token.create', 'token.revoke'];

export async function render(ctx) {
  const f = { actor: ctx.query.get('actor') || '', action: ctx.query.get('action') || '', target: ctx.query.get('target') || '' };
  const actor = h('input', { type: 'search', value: f.actor, autocomplete: 'off' });
  const action = h('input', { type: 'search', value: f.action, list: 'audit-actions', autocomplete: 'off' });
  const target = h('input', { type: 'search', value: f.target, autocomplete: 'off' });
  const tbody = h('tbody', {});
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, text: 'Show more' });
  const status = h('p', { class: 'muted small', role: 'status' });
  let next = '';

  const row = (e) => h('tr', { dataset: { action: e.action } },
    h('td', {}, timeEl(e.time)),
    h('td', {}, h('strong', { text: e.actor })),
    h('td', {}, h('code', { text: e.action })),
    h('td', {}, targetLink(e)),
    h('td', { class: 'reason', text: e.reason || '' }),
    h('td', {}, h('code', { class: 'small', text: e.request_id || '' })));

  async function load(append = false) {
    const q = { actor: f.actor, action: f.action, target: f.target, limit: 100, cursor: append ? next : '' };
    const res = await api.get('/api/v1/audit', q);
    const rows = (res.entries || []).map(row);
    if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
    next = res.next || '';
    more.hidden = !next;
    status.textContent = `${tbody.children.length}${next ? '+' : ''} entries`;
  }
  const apply = debounce(() => {
    f.actor = actor.value.trim(); f.action = action.value.trim(); f.target = target.value.trim();
    const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v));
    history.replaceState(null, '', `#/audit${q.toString() ? '?' + q : ''}`);
    load().catch(e => { status.textContent = e.message; });
  }, 300);
  for (const el of [actor, action, target]) el.addEventListener('input', apply);
  more.addEventListener('click', () => load(true));

  replace(ctx.main,
    h('header', { class: 'page-head' }, h('div', {}, h('h1', { text: 'Audit log' }),
      h('p', { class: 'muted', text: 'Every change and every view of evidence, newest first. Entries cannot be changed or removed.' }))),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log', onsubmit: (e) => e.preventDefault() },
      field('Actor', actor), field('Action', action), field('Target', target),
      h('datalist', { id: 'audit-actions' }, KNOWN.map(k => h('option', { value: k })))),
    status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'audit', 'aria-label': 'Audit log entries', 'data-testid': 'audit' },
      h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Target', 'Reason', 'Request'].map(t => h('th', { scope: 'col', text: t })))),
      tbody)),
    more);
  await load();
}

function targetLink(e) {
  if (!e.target) return '';
  if (e.action.startsWith('alert.')) return h('a', { href: alertHref(e.target) }, h('code', { text: e.target }));
  return h('code', { text: e.target });
}
