// Policies: the active bundle, its revisions and who activated what, its
// rules with severity and tags (read from the active bundle tarball), and
// how many alerts each rule raised.

import { api, pages } from '../api.js';
import { h, replace, sevBadge, timeEl, toast, notAvailable, SEVERITIES } from '../dom.js';
import { barChart } from '../charts.js';
import { bundleRules } from '../tar.js';

function ruleKind(r) {
  for (const k of ['threshold', 'sequence', 'first_seen', 'baseline']) if (r[k]) return k.replace('_', '-');
  return 'plain';
}

export async function render(ctx) {
  const isAdmin = ctx.session.role === 'admin';
  const from = new Date(Date.now() - 30 * 86400e3).toISOString();
  const [bundles, acts, alertsRes] = await Promise.all([
    api.get('/api/v1/bundles'),
    api.get('/api/v1/bundles/activations'),
    pages('/api/v1/alerts', { from }, 'alerts', 5000),
  ]);
  let rules = [], manifest = {}, rulesErr = '';
  try {
    const res = await api.raw('/api/v1/bundles/active');
    ({ rules, manifest } = await bundleRules(await res.blob()));
  } catch (e) { rulesErr = e.status === 404 ? 'No bundle is active.' : `The active bundle cannot be read: ${e.message}`; }
  const active = (bundles.bundles || []).find(b => b.active);
  const perRule = new Map();
  for (const a of alertsRes.items) for (const r of a.rule_ids || []) perRule.set(r, (perRule.get(r) || 0) + 1);

  let tests = null;
  if (active) {
    tests = await api.get(`/api/v1/bundles/${encodeURIComponent(active.name)}/${encodeURIComponent(active.revision)}/tests`).catch(e => (e.missingRoute ? null : { error: e.message }));
  }

  const search = h('input', { type: 'search', placeholder: 'id, title or tag', autocomplete: 'off', 'aria-label': 'Find a rule' });
  const sevFilter = h('select', { 'aria-label': 'Severity' }, h('option', { value: '', text: 'Any severity' }), SEVERITIES.map(s => h('option', { value: s, text: s })));
  const want = ctx.query.get('rule') || '';
  const sorted = rules.slice().sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.id.localeCompare(b.id));
  const rows = sorted.map(r => h('tr', { id: `rule-${r.id}`, class: r.id === want ? 'highlight' : '', dataset: { search: `${r.id} ${r.title} ${(r.tags || []).join(' ')}`.toLowerCase(), severity: r.severity } },
    h('td', {}, h('code', { text: r.id }), h('span', { class: 'muted small', text: ` v${r.version ?? 1}` })),
    h('td', {}, h('details', {}, h('summary', { text: r.title }),
      r.rationale ? h('p', { class: 'small', text: r.rationale }) : null,
      h('pre', { class: 'code small', text: r.when || '' }),
      r.threshold ? h('p', { class: 'small muted', text: `threshold ${JSON.stringify(r.threshold)}` }) : null,
      r.sequence ? h('p', { class: 'small muted', text: `sequence within ${r.sequence.within}` }) : null,
      r.source ? h('p', { class: 'small muted', text: `${r.source.file}:${r.source.line}` }) : null)),
    h('td', {}, sevBadge(r.severity)),
    h('td', { text: ruleKind(r) }),
    h('td', { class: 'tags' }, (r.tags || []).map(t => h('span', { class: 'tag', text: t }))),
    h('td', { class: 'num' }, perRule.get(r.id) ? h('a', { href: `#/alerts?rule=${encodeURIComponent(r.id)}&status=`, text: String(perRule.get(r.id)) }) : '0')));
  const filterRows = () => {
    const q = search.value.trim().toLowerCase();
    for (const tr of rows) tr.hidden = (q && !tr.dataset.search.includes(q)) || (sevFilter.value && tr.dataset.severity !== sevFilter.value);
  };
  search.addEventListener('input', filterRows);
  sevFilter.addEventListener('change', filterRows);

  const activateBtn = (b) => {
    const btn = h('button', { type: 'button', class: 'secondary small', text: 'Activate' });
    btn.addEventListener('click', async () => {
      const reason = prompt(`Activate ${b.name} revision ${b.revision}? Give a reason for the audit log:`);
      if (reason === null) return;
      btn.disabled = true;
      try {
        await api.post(`/api/v1/bundles/${encodeURIComponent(b.name)}/${encodeURIComponent(b.revision)}/activate`, { reason });
        toast(`${b.name}@${b.revision} is now active`);
        ctx.navigate('#/policies', { replace: true });
      } catch (e) { toast(e.message, 'error'); btn.disabled = false; }
    });
    return btn;
  };

  replace(ctx.main,
    h('header', { class: 'page-head' },
      h('div', {}, h('h1', { text: 'Policies' }),
        h('p', { class: 'lead', 'data-testid': 'active-bundle' }, active ? ['Active: ', h('strong', { text: active.name }), ' revision ', h('code', { text: active.revision })] : 'No bundle is active.'),
        manifest.metadata?.description ? h('p', { class: 'muted small', text: manifest.metadata.description }) : null)),
    h('div', { class: 'grid-2' },
      h('section', { class: 'panel' }, h('h2', { text: 'Revisions' }),
        h('table', { class: 'compact', 'aria-label': 'Stored revisions' },
          h('thead', {}, h('tr', {}, ['Bundle', 'Revision', 'Uploaded', 'By', ''].map(t => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, (bundles.bundles || []).map(b => h('tr', {},
            h('td', { text: b.name }), h('td', {}, h('code', { text: b.revision })), h('td', {}, timeEl(b.uploaded_at)), h('td', { text: b.uploaded_by }),
            h('td', {}, b.active ? h('span', { class: 'badge status-acknowledged', text: 'active' }) : isAdmin ? activateBtn(b) : null)))))),
      h('section', { class: 'panel' }, h('h2', { text: 'Activation history' }),
        (acts.activations || []).length ? h('ol', { class: 'history' }, acts.activations.map(a => h('li', {},
          h('div', {}, h('strong', { text: a.activated_by }), ' activated ', h('code', { text: `${a.name}@${a.revision}` })),
          a.reason ? h('p', { class: 'comment', text: a.reason }) : null,
          h('p', { class: 'muted small' }, timeEl(a.activated_at)))))
          : h('p', { class: 'muted', text: 'No activations recorded.' }))),
    h('section', { class: 'panel' }, h('h2', { text: 'Alerts per rule, last 30 days' }),
      barChart([...perRule].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([r, n]) => ({ label: r, value: n, href: `#/policies?rule=${encodeURIComponent(r)}` })), { label: 'Alerts per rule' })),
    tests === null ? notAvailable('Scenario-test results', 'This server does not report scenario-test results. Run `vigil policy test DIR` on the bundle source; CI runs it on every change.')
      : tests.error ? h('p', { class: 'form-error', text: tests.error })
        : h('section', { class: 'panel' }, h('h2', { text: 'Scenario tests' }), h('p', { text: `${tests.passed ?? 0} passed, ${tests.failed ?? 0} failed` })),
    h('section', { class: 'panel' },
      h('h2', { text: `Rules (${rules.length})` }),
      rulesErr ? h('p', { class: 'form-error', text: rulesErr }) : null,
      h('div', { class: 'filters inline' }, search, sevFilter),
      h('div', { class: 'table-wrap' }, h('table', { class: 'rules-table', 'aria-label': 'Rules of the active bundle', 'data-testid': 'rules' },
        h('thead', {}, h('tr', {}, ['Rule', 'Title', 'Severity', 'Kind', 'Tags', 'Alerts (30 d)'].map(t => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, rows)))));
  if (want) {
    const tr = document.getElementById(`rule-${want}`);
    if (tr) { tr.querySelector('details').open = true; tr.scrollIntoView({ block: 'center' }); }
  }
}
