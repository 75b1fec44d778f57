// People ranked by risk over a period, each with a sparkline of their
// alerts per day and the rules that fired for them.

import { api, pages } from '../api.js';
import { h, replace, userHref, field, select } from '../dom.js';
import { sparkline } from '../charts.js';
import { fmtScore } from './overview.js';

const PERIODS = [['7', '7 days'], ['30', '30 days'], ['90', '90 days']];

// dailyCounts counts alerts per day over the last days days, oldest first.
export function dailyCounts(alerts, days, now = Date.now()) {
  const out = new Array(days).fill(0);
  for (const a of alerts) {
    const age = Math.floor((now - new Date(a.time).getTime()) / 86400e3);
    if (age >= 0 && age < days) out[days - 1 - age]++;
  }
  return out;
}

export async function render(ctx) {
  const days = PERIODS.some(p => p[0] === ctx.query.get('days')) ? ctx.query.get('days') : '30';
  const from = new Date(Date.now() - days * 86400e3).toISOString();
  const [risk, alertsRes, dir] = await Promise.all([
    api.get('/api/v1/risk', { days, limit: 100 }),
    pages('/api/v1/alerts', { from }, 'alerts', 5000),
    api.get('/api/v1/users', { limit: 1000 }).catch(() => ({ users: [] })),
  ]);
  const byUser = new Map();
  for (const a of alertsRes.items) {
    if (!a.user) continue;
    if (!byUser.has(a.user)) byUser.set(a.user, []);
    byUser.get(a.user).push(a);
  }
  const directory = new Map((dir.users || []).map(u => [u.name, u]));
  const watch = await api.get('/api/v1/watchlists').catch(() => null);

  const search = h('input', { type: 'search', placeholder: 'name, department', autocomplete: 'off' });
  const periodSel = select('days', PERIODS, days);
  periodSel.addEventListener('change', () => ctx.navigate(`#/people?days=${periodSel.value}`));
  const tbody = h('tbody', {});
  const rows = (risk.users || []).map((r, i) => {
    const list = byUser.get(r.user) || [];
    const counts = dailyCounts(list, Number(days));
    const rules = new Map();
    for (const a of list) for (const id of a.rule_ids || []) rules.set(id, (rules.get(id) || 0) + 1);
    const u = directory.get(r.user);
    const tr = h('tr', { dataset: { user: r.user, search: `${r.user} ${u?.full_name || ''} ${u?.department || ''}`.toLowerCase() } },
      h('td', { class: 'num', text: String(i + 1) }),
      h('td', {}, h('a', { href: userHref(r.user), text: r.user }), u?.full_name ? h('div', { class: 'muted small', text: u.full_name }) : null),
      h('td', { text: u?.department || '—' }),
      h('td', {}, u?.employment_status && u.employment_status !== 'active' ? h('span', { class: 'flag small', text: u.employment_status }) : null,
        u?.contractor ? h('span', { class: 'flag small', text: 'contractor' }) : null),
      h('td', { class: 'num strong', text: fmtScore(r.score) }),
      h('td', { class: 'num', text: String(r.alerts) }),
      h('td', {}, sparkline(counts, { label: `${r.user}: ${list.length} alerts over ${days} days, ${counts[counts.length - 1]} today` })),
      h('td', { class: 'rules' }, [...rules].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([id, n]) => h('code', { text: `${id} ×${n}` }))));
    return tr;
  });
  tbody.append(...rows);
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    for (const tr of rows) tr.hidden = q !== '' && !tr.dataset.search.includes(q);
  });

  replace(ctx.main,
    h('header', { class: 'page-head' },
      h('div', {}, h('h1', { text: 'People' }), h('p', { class: 'muted', text: `Ranked by risk: the sum of the risk scores of their alerts over the last ${days} days, false positives excluded.` })),
      h('div', { class: 'filters inline' }, field('Period', periodSel), field('Find', search))),
    rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'people', 'aria-label': 'People ranked by risk' },
      h('thead', {}, h('tr', {},
        ['#', 'Person', 'Department', 'Status', 'Risk', 'Alerts', `Alerts per day (${days} d)`, 'Top rules'].map(t => h('th', { scope: 'col', text: t })))),
      tbody)) : h('p', { class: 'empty muted', text: 'Nobody has alerts in this period.' }),
    watch ? watchlists(watch) : null);
}

// watchlists shows the server's watchlists when it has them.
function watchlists(res) {
  const lists = Array.isArray(res) ? res : res.watchlists || [];
  if (!lists.length) return null;
  return h('section', { class: 'panel' }, h('h2', { text: 'Watchlists' }),
    h('ul', { class: 'watchlists' }, lists.map(w => h('li', {},
      h('strong', { text: w.name || w.id }),
      h('span', { class: 'muted', text: ` · ${w.kind ? w.kind + ' · ' : ''}${(w.members || w.users || []).length} people` }),
      w.description ? h('p', { class: 'muted small', text: w.description }) : null,
      (w.members || w.users || []).length ? h('p', {}, (w.members || w.users).map(m => {
        const n = typeof m === 'string' ? m : m.name || m.user;
        return [h('a', { href: userHref(n), text: n }), ' '];
      })) : null))));
}
