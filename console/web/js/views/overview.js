// Overview: open alerts per severity, alerts over time, the rules that
// fire most and the riskiest people, at a glance.

import { api, pages } from '../api.js';
import { h, replace, SEVERITIES, userHref, sevBadge } from '../dom.js';
import { timeChart, bucketize, barChart, severityLegend } from '../charts.js';

const RANGES = [['1', 'Last 24 hours'], ['7', 'Last 7 days'], ['30', 'Last 30 days']];

export async function render(ctx) {
  const days = RANGES.some(r => r[0] === ctx.query.get('days')) ? ctx.query.get('days') : '7';
  const to = new Date();
  const from = new Date(to - days * 86400e3);
  const [{ items, more }, risk, ready] = await Promise.all([
    pages('/api/v1/alerts', { from: from.toISOString() }, 'alerts', 5000),
    api.get('/api/v1/risk', { days, limit: 8 }),
    fetch('/readyz', { cache: 'no-store' }).then(r => r.json()).catch(() => null),
  ]);
  const open = items.filter(a => a.status === 'open');
  const perRule = new Map();
  for (const a of items) for (const r of a.rule_ids || []) perRule.set(r, (perRule.get(r) || 0) + 1);
  const topRules = [...perRule].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10);

  const rangeSel = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Period' },
    RANGES.map(([v, label]) => h('a', { href: `#/overview?days=${v}`, 'aria-current': v === days ? 'true' : false, text: label })));

  replace(ctx.main,
    h('header', { class: 'page-head' },
      h('div', {}, h('h1', { text: 'Overview' }),
        h('p', { class: 'muted', text: ready && ready.bundle ? `Active policy bundle ${ready.bundle}` : '' })),
      rangeSel),
    h('section', { class: 'cards', 'aria-label': 'Open alerts by severity' },
      SEVERITIES.map(sv => {
        const n = open.filter(a => (a.severity || 'info') === sv).length;
        return h('a', { class: `card stat sev-border-${sv}`, href: `#/alerts?status=open&severity=${sv}`, 'data-testid': `open-${sv}` },
          h('span', { class: 'stat-num', text: String(n) }),
          h('span', { class: 'stat-label' }, sevBadge(sv), ' open'));
      })),
    h('div', { class: 'grid-2' },
      h('section', { class: 'panel' },
        h('h2', { text: 'Alerts over time' }),
        h('p', { class: 'muted small', text: `${items.length}${more ? '+' : ''} alerts in the period, by event time.` }),
        timeChart(bucketize(items, from, to), { label: 'Alerts over time' }),
        severityLegend()),
      h('section', { class: 'panel' },
        h('h2', { text: 'Riskiest people' }),
        risk.users && risk.users.length
          ? h('ol', { class: 'risk-list' }, risk.users.map(u => h('li', {},
            h('a', { href: userHref(u.user), text: u.user }),
            h('span', { class: 'muted', text: `${fmtScore(u.score)} risk · ${u.alerts} alert${u.alerts === 1 ? '' : 's'}` }))))
          : h('p', { class: 'muted', text: 'No risk in the period.' }))),
    h('section', { class: 'panel' },
      h('h2', { text: 'Rules that fired most' }),
      barChart(topRules.map(([r, n]) => ({ label: r, value: n, href: `#/alerts?rule=${encodeURIComponent(r)}` })), { label: 'Alerts per rule' })));
}

export function fmtScore(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
