// Administration: API tokens (create, list, revoke), policy bundle
// revisions (upload a signed tarball) and SIEM sinks.

import { api } from '../api.js';
import { h, replace, timeEl, field, select, toast, notAvailable, announce, errorPanel } from '../dom.js';

export async function render(ctx) {
  const tokensBox = h('section', { class: 'panel', 'aria-labelledby': 'tok-h' });
  const bundleBox = h('section', { class: 'panel', 'aria-labelledby': 'bun-h' });
  const sinksBox = h('section', { class: 'panel', 'aria-labelledby': 'sink-h' });
  replace(ctx.main, h('header', { class: 'page-head' }, h('h1', { text: 'Administration' })), tokensBox, h('div', { class: 'grid-2' }, bundleBox, sinksBox));
  // Each panel stands alone: one that fails says so without taking the
  // others down.
  const panels = [[tokensBox, drawTokens(tokensBox)], [bundleBox, drawBundles(bundleBox, ctx)], [sinksBox, drawSinks(sinksBox)]];
  const results = await Promise.allSettled(panels.map(p => p[1]));
  results.forEach((r, i) => { if (r.status === 'rejected') replace(panels[i][0], errorPanel(r.reason)); });
}

async function drawTokens(box) {
  const res = await api.get('/api/v1/tokens');
  const name = h('input', { type: 'text', name: 'name', required: true, autocomplete: 'off' });
  const role = select('role', ['analyst', 'auditor', 'admin', 'agent'], 'analyst');
  const kind = select('kind', [['api', 'API token'], ['enrollment', 'Agent enrollment (single use)']], 'api');
  const expires = select('expires', [['', 'Never'], ['24', '1 day'], ['720', '30 days'], ['2160', '90 days']], '720');
  const reason = h('input', { type: 'text', name: 'reason', autocomplete: 'off' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'filters', 'aria-label': 'Create a token' },
    field('Name', name, 'Who or what it is for'), field('Role', role), field('Kind', kind), field('Expires', expires), field('Reason', reason, 'Written to the audit log'),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'primary', text: 'Create token' })));
  kind.addEventListener('change', () => { if (kind.value === 'enrollment') role.value = 'agent'; });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim()) { name.focus(); return; }
    const body = { name: name.value.trim(), role: role.value, kind: kind.value, reason: reason.value.trim() || undefined };
    if (expires.value) body.expires = new Date(Date.now() + Number(expires.value) * 3600e3).toISOString();
    if (kind.value === 'enrollment') body.single_use = true;
    try {
      const created = await api.post('/api/v1/tokens', body);
      const secret = h('input', { type: 'text', readonly: true, value: created.secret, class: 'secret', 'aria-label': 'The new token', 'data-testid': 'new-secret' });
      replace(out, h('div', { class: 'secret-box', role: 'status' },
        h('p', {}, h('strong', { text: `Token “${created.token.name}” (${created.token.role}) created.` }), ' Copy it now: it is shown this once.'),
        secret,
        h('button', { type: 'button', class: 'secondary', onclick: () => { secret.select(); navigator.clipboard?.writeText(created.secret).then(() => toast('Copied'), () => {}); }, text: 'Copy' })));
      secret.focus();
      secret.select();
      announce('Token created; the secret is shown once.');
      form.reset();
      await drawList();
    } catch (err) { toast(err.message, 'error'); }
  });
  const tbody = h('tbody', {});
  async function drawList(list) {
    const toks = list || (await api.get('/api/v1/tokens')).tokens || [];
    tbody.replaceChildren(...toks.map(t => h('tr', { class: t.revoked ? 'revoked' : '' },
      h('td', {}, h('strong', { text: t.name }), h('div', { class: 'muted small' }, h('code', { text: t.id }))),
      h('td', { text: t.role }), h('td', { text: t.kind }),
      h('td', {}, timeEl(t.created), h('div', { class: 'muted small', text: t.created_by ? `by ${t.created_by}` : '' })),
      h('td', {}, t.last_used ? timeEl(t.last_used) : h('span', { class: 'muted', text: 'never' })),
      h('td', {}, t.revoked ? ['revoked ', timeEl(t.revoked)] : t.single_use && t.used ? ['used ', timeEl(t.used)] : t.expires ? ['expires ', timeEl(t.expires)] : 'active'),
      h('td', {}, t.revoked ? null : revokeBtn(t)))));
  }
  function revokeBtn(t) {
    const b = h('button', { type: 'button', class: 'danger small', 'aria-label': `Revoke ${t.name}`, text: 'Revoke' });
    b.addEventListener('click', async () => {
      if (!confirm(`Revoke the token “${t.name}”? Its next request is refused.`)) return;
      try { await api.del(`/api/v1/tokens/${encodeURIComponent(t.id)}`); toast(`Revoked ${t.name}`); await drawList(); } catch (e) { toast(e.message, 'error'); }
    });
    return b;
  }
  replace(box, h('h2', { id: 'tok-h', text: 'API tokens' }), form, out,
    h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Tokens', 'data-testid': 'tokens' },
      h('thead', {}, h('tr', {}, ['Name', 'Role', 'Kind', 'Created', 'Last used', 'State', ''].map(t => h('th', { scope: 'col', text: t })))),
      tbody)));
  await drawList(res.tokens || []);
}

async function drawBundles(box, ctx) {
  const file = h('input', { type: 'file', accept: '.tar.gz,.tgz,application/gzip', required: true });
  const form = h('form', { 'aria-label': 'Upload a bundle' },
    field('Signed bundle tarball', file, 'Built with vigil policy build --signing-key; uploading does not activate it.'),
    h('button', { type: 'submit', class: 'primary', text: 'Upload' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) return;
    try {
      const res = await fetch('/api/v1/bundles', { method: 'POST', headers: { Authorization: `Bearer ${ctx.session.token}`, 'Content-Type': 'application/gzip' }, body: f });
      const j = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(j.error?.message || `${res.status}`);
      toast(`Uploaded ${j.name}@${j.revision}; activate it on the Policies page.`);
      form.reset();
    } catch (err) { toast(`Upload refused: ${err.message}`, 'error'); }
  });
  replace(box, h('h2', { id: 'bun-h', text: 'Policy bundles' }), form,
    h('p', { class: 'muted small' }, 'Revisions, activation and history are on the ', h('a', { href: '#/policies', text: 'Policies' }), ' page.'));
}

async function drawSinks(box) {
  const head = h('h2', { id: 'sink-h', text: 'SIEM sinks' });
  try {
    const res = await api.get('/api/v1/sinks');
    const sinks = Array.isArray(res) ? res : res.sinks || [];
    replace(box, head, sinks.length ? h('table', { class: 'compact', 'aria-label': 'Sinks' },
      h('thead', {}, h('tr', {}, ['Name', 'Type', 'Format', 'Queued', 'Dead letters', 'Last error'].map(t => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, sinks.map(s => h('tr', {},
        h('td', {}, h('strong', { text: s.name }), s.disabled ? h('span', { class: 'muted small', text: ' (disabled)' }) : null),
        h('td', { text: s.type || '' }), h('td', { text: s.format || '' }), h('td', { class: 'num', text: String(s.queued ?? '—') }),
        h('td', { class: 'num' }, s.dead_letters ? h('strong', { class: 'bad', text: String(s.dead_letters) }) : '0'),
        h('td', { class: 'small', text: s.last_error || '' })))))
      : h('p', { class: 'muted', text: 'No sink is configured. Sinks are set in the server configuration file.' }));
  } catch (e) {
    if (e.status === 503) {
      replace(box, head, notAvailable('Sinks', `${e.message}. Sinks are configured in the server configuration file (see docs/operations.md).`));
      return;
    }
    if (!e.missingRoute) throw e;
    replace(box, head, notAvailable('Sinks', 'This server does not report its SIEM sinks yet (GET /api/v1/sinks). Sinks are configured in the server configuration file.'));
  }
}
