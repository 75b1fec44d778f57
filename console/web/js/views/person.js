// One person: directory context, risk, their alerts over time and in a
// list, and the hosts, removable devices and destinations seen in their
// recorded events.

import { api, pages, person } from '../api.js';
import { h, replace, sevBadge, statusBadge, timeEl, alertHref } from '../dom.js';
import { timeChart, bucketize, severityLegend } from '../charts.js';
import { summary } from '../words.js';
import { fmtScore } from './overview.js';

export async function render(ctx) {
  const name = ctx.params[0];
  ctx.setTitle(name);
  const from = new Date(Date.now() - 30 * 86400e3);
  const user = await person(name);
  const [alertsRes, decisions] = await Promise.all([
    pages('/api/v1/alerts', { user: name }, 'alerts', 1000),
    api.get('/api/v1/decisions', { user: name, limit: 500 }),
  ]);
  const alerts = alertsRes.items;
  const recent = alerts.filter(a => new Date(a.time) >= from);
  const risk = user?.risk || (await api.get('/api/v1/risk', { limit: 1000 })).users?.find(u => u.user === name);

  // Devices and destinations from the recorded (masked) events.
  const hosts = new Map(), vols = new Map(), dests = new Map();
  let enriched = null;
  for (const d of decisions.decisions || []) {
    const ev = d.decision?.input?.event || {};
    if (d.host) hosts.set(d.host, later(hosts.get(d.host), d.time));
    const v = ev.volume || (ev.device?.removable ? ev.device : null);
    if (v && (v.serial_number || v.vendor_name || v.label)) {
      const key = v.serial_number || `${v.vendor_name}/${v.product_name}/${v.label}`;
      vols.set(key, { ...v, last: later(vols.get(key)?.last, d.time) });
    }
    const dom = ev.destination?.domain || ev.url?.domain;
    if (dom) dests.set(dom, (dests.get(dom) || 0) + 1);
    if (!enriched && ev.user && Object.keys(ev.user).length > 1) enriched = ev.user;
  }
  for (const a of alerts) if (a.host) hosts.set(a.host, later(hosts.get(a.host), a.time));

  const eu = enriched || {};
  const ctxRows = [
    ['Name', user?.full_name || eu.full_name], ['Email', user?.email || eu.email],
    ['Department', user?.department || eu.department], ['Title', user?.title || eu.title],
    ['Manager', user?.manager || eu.manager], ['Employment', user?.employment_status || eu.employment?.status],
    ['Notice given', user?.notice_date], ['Leaving date', user?.end_date || eu.employment?.end_date],
    ['Contractor', (user?.contractor ?? eu.contractor) ? 'yes' : null], ['Privileged', user?.privileged ? 'yes' : null],
    ['Watchlists', (user?.watchlists || eu.watchlists || []).join(', ')], ['Groups', (user?.groups || eu.groups || []).join(', ')],
    ['Directory id', user?.id], ['Sources', (user?.sources || []).join(', ')],
    ['Directory updated', user?.updated ? new Date(user.updated).toLocaleString() : null],
  ].filter(r => r[1]);

  replace(ctx.main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/people', text: 'People' }), ' / ', h('span', { text: name })),
    h('header', { class: 'page-head' },
      h('div', {}, h('h1', { text: user?.full_name ? `${user.full_name} (${name})` : name }),
        h('p', { class: 'muted', text: [user?.department || eu.department, user?.title || eu.title].filter(Boolean).join(' · ') || (user ? '' : 'Not in the directory') })),
      h('div', { class: 'card stat' }, h('span', { class: 'stat-num', 'data-testid': 'person-risk', text: risk ? fmtScore(risk.score) : '0' }),
        h('span', { class: 'stat-label', text: `risk over ${user ? 'the period' : '30 days'} · ${risk?.alerts ?? 0} alerts` }))),
    h('div', { class: 'grid-main' },
      h('div', { class: 'col' },
        h('section', { class: 'panel' }, h('h2', { text: 'Alerts, last 30 days' }),
          timeChart(bucketize(recent, from, new Date()), { label: `${name}'s alerts over 30 days`, height: 160 }), severityLegend()),
        h('section', { class: 'panel' }, h('h2', { text: `Alerts (${alerts.length}${alertsRes.more ? '+' : ''})` }),
          alerts.length ? h('table', { class: 'queue compact', 'aria-label': `${name}'s alerts` },
            h('thead', {}, h('tr', {}, ['Severity', 'When', 'What happened', 'Status'].map(t => h('th', { scope: 'col', text: t })))),
            h('tbody', {}, alerts.slice(0, 200).map(a => h('tr', {},
              h('td', {}, sevBadge(a.severity)), h('td', {}, timeEl(a.time)),
              h('td', {}, h('a', { href: alertHref(a.id), text: summary(a) }),
                h('div', {}, (a.rule_ids || []).map(r => [h('code', { class: 'small', text: r }), ' ']))),
              h('td', {}, statusBadge(a.status))))))
            : h('p', { class: 'muted', text: 'No alerts.' }))),
      h('div', { class: 'col side' },
        h('section', { class: 'panel' }, h('h2', { text: 'Directory' }),
          ctxRows.length ? h('dl', { class: 'facts' }, ctxRows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]))
            : h('p', { class: 'muted', text: 'No directory context for this login.' })),
        h('section', { class: 'panel', 'data-testid': 'devices' }, h('h2', { text: 'Devices seen' }),
          h('h3', { text: 'Hosts' }),
          hosts.size ? h('ul', { class: 'plain' }, [...hosts].map(([n, t]) => h('li', {}, h('strong', { text: n }), ' ', h('span', { class: 'muted small' }, 'last ', timeEl(t)))))
            : h('p', { class: 'muted', text: 'None recorded.' }),
          h('h3', { text: 'Removable media' }),
          vols.size ? h('ul', { class: 'plain' }, [...vols.values()].map(v => h('li', {},
            h('strong', { text: [v.vendor_name, v.product_name].filter(Boolean).join(' ') || v.label || 'USB storage' }),
            v.serial_number ? h('code', { class: 'small', text: ` ${v.serial_number}` }) : null,
            h('span', { class: 'muted small' }, ' last ', timeEl(v.last)))))
            : h('p', { class: 'muted', text: 'None recorded.' }),
          dests.size ? [h('h3', { text: 'Destinations' }), h('ul', { class: 'plain' }, [...dests].sort((a, b) => b[1] - a[1]).slice(0, 10)
            .map(([d, n]) => h('li', {}, h('code', { text: d }), h('span', { class: 'muted small', text: ` ×${n}` }))))] : null,
          h('p', { class: 'muted small', text: 'From the events that met a rule; everyday activity is not kept centrally.' })))));
}

function later(a, b) { return !a || b > a ? b : a; }
