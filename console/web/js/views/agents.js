// Agents: every endpoint agent with its host, when it was last heard from,
// its version and bundle revision, and the health of its sensors.

import { pages } from '../api.js';
import { h, replace, timeEl, ago, notAvailable } from '../dom.js';

// STALE_MS is how long without news makes an agent look silent.
const STALE_MS = 10 * 60e3;

// sensorsOf accepts the agent's sensor report as a map name → health
// ({state, mode, message, last_error, events}) or a plain state string, or
// as a list of {name, state}.
function sensorsOf(a) {
  const s = a.sensors || [];
  const norm = (name, v) => (typeof v === 'string' ? { name, state: v, detail: '' }
    : { name: name || v.name, state: v.state || v.health || v.status || 'unknown', detail: v.message || v.last_error || v.error || '', mode: v.mode || '' });
  if (Array.isArray(s)) return s.map(x => norm(x.name, x));
  return Object.entries(s).map(([name, v]) => norm(name, v)).sort((x, y) => x.name.localeCompare(y.name));
}

const GOOD = /^(ok|healthy|running)$/i;
const NEUTRAL = /^(unsupported|starting|disabled)$/i;

export async function render(ctx) {
  let res;
  try {
    res = (await pages('/api/v1/agents', {}, 'agents', 5000)).items;
  } catch (e) {
    if (e.missingRoute) {
      replace(ctx.main, h('header', { class: 'page-head' }, h('h1', { text: 'Agents' })),
        notAvailable('Agents', 'This server does not list agents yet (GET /api/v1/agents). Agents still send events and fetch bundles.'));
      return;
    }
    throw e;
  }
  const agents = Array.isArray(res) ? res : res.agents || [];
  const now = Date.now();
  const rows = agents.map(a => {
    const seen = a.last_seen && !a.last_seen.startsWith('0001-') ? a.last_seen : '';
    const stale = !seen || now - new Date(seen).getTime() > STALE_MS;
    const sensors = sensorsOf(a);
    const bad = sensors.filter(s => !GOOD.test(s.state) && !NEUTRAL.test(s.state));
    const state = stale ? 'silent' : bad.length ? 'degraded' : 'healthy';
    return h('tr', { dataset: { state } },
      h('td', {}, h('strong', { text: a.name || a.host || '—' }), h('div', { class: 'muted small' }, a.os ? `${a.os} · ` : '', h('code', { text: a.id || '' }))),
      h('td', {}, h('span', { class: `health health-${state}`, text: state })),
      h('td', {}, timeEl(seen), h('div', { class: 'muted small', text: seen ? ago(seen) : '' })),
      h('td', { text: a.version || '—' }),
      h('td', {}, h('code', { text: a.bundle_revision ? `${a.bundle_name ? a.bundle_name + '@' : ''}${a.bundle_revision}` : '—' })),
      h('td', {}, sensors.length ? h('ul', { class: 'sensors' }, sensors.map(s => h('li', { class: GOOD.test(s.state) ? 'ok' : NEUTRAL.test(s.state) ? 'muted' : 'bad' },
        h('span', { class: 'sensor-dot', 'aria-hidden': 'true' }), `${s.name}: ${s.state}${s.mode ? ` (${s.mode})` : ''}`,
        s.detail ? h('span', { class: 'muted small', text: ` — ${s.detail}` }) : null))) : h('span', { class: 'muted', text: '—' })));
  });
  const counts = { healthy: 0, degraded: 0, silent: 0 };
  for (const r of rows) counts[r.dataset.state]++;
  replace(ctx.main,
    h('header', { class: 'page-head' }, h('div', {}, h('h1', { text: 'Agents' }),
      h('p', { class: 'muted', text: `${agents.length} agent${agents.length === 1 ? '' : 's'}: ${counts.healthy} healthy, ${counts.degraded} degraded, ${counts.silent} silent for more than ${STALE_MS / 60e3} minutes.` }))),
    agents.length ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Agents' },
      h('thead', {}, h('tr', {}, ['Host', 'State', 'Last seen', 'Version', 'Bundle revision', 'Sensors'].map(t => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows))) : h('p', { class: 'empty muted', text: 'No agent has enrolled yet.' }));
}
