// The alert queue: newest first, filtered by status, severity, rule, user,
// host and time; counts per severity; live updates by polling; bulk
// acknowledge for the roles that triage.

import { api, pages } from '../api.js';
import {
  h, replace, SEVERITIES, STATUSES, sevBadge, statusBadge, timeEl, ago, field, select, debounce,
  announce, toast, userHref, alertHref, notAvailable,
} from '../dom.js';
import { summary } from '../words.js';

// POLL_MS is how often the queue asks for new alerts while visible.
export const POLL_MS = 5000;
const PAGE = 100;
const RANGES = [['', 'Any time'], ['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['custom', 'Custom…']];
const FILTERS = ['status', 'severity', 'rule', 'user', 'host', 'range', 'from', 'to'];

function rangeFrom(range) {
  const m = /^(\d+)([hd])$/.exec(range || '');
  if (!m) return '';
  return new Date(Date.now() - m[1] * (m[2] === 'h' ? 3600e3 : 86400e3)).toISOString();
}

function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const off = d.getTimezoneOffset() * 60e3;
  return new Date(d - off).toISOString().slice(0, 16);
}

export async function render(ctx) {
  const canTriage = ctx.session.role === 'admin' || ctx.session.role === 'analyst';
  const f = {};
  for (const k of FILTERS) f[k] = ctx.query.get(k) || '';
  if (!ctx.query.has('status') && !ctx.query.toString()) f.status = 'open';

  const state = { alerts: [], next: '', known: new Set(), selected: new Set(), timer: null, stopped: false, inflight: false };

  // Query sent to the API for the current filters.
  const apiQuery = (withSeverity = true) => {
    const q = { status: f.status, rule: f.rule, user: f.user, host: f.host };
    if (withSeverity) q.severity = f.severity;
    if (f.range === 'custom') {
      if (f.from) q.from = new Date(f.from).toISOString();
      if (f.to) q.to = new Date(f.to).toISOString();
    } else q.from = rangeFrom(f.range);
    return q;
  };

  // --- filter form
  const statusSel = select('status', [['', 'Any status'], ...STATUSES.map(s => [s, s === 'false-positive' ? 'false positive' : s])], f.status);
  const sevSel = select('severity', [['', 'Any severity'], ...SEVERITIES.map(s => [s, s])], f.severity);
  const ruleIn = h('input', { type: 'search', name: 'rule', value: f.rule, placeholder: 'rule id', list: 'rule-ids', autocomplete: 'off' });
  const userIn = h('input', { type: 'search', name: 'user', value: f.user, placeholder: 'login name', autocomplete: 'off' });
  const hostIn = h('input', { type: 'search', name: 'host', value: f.host, placeholder: 'host name', autocomplete: 'off' });
  const rangeSel = select('range', RANGES, f.range);
  const fromIn = h('input', { type: 'datetime-local', name: 'from', value: localInput(f.from) });
  const toIn = h('input', { type: 'datetime-local', name: 'to', value: localInput(f.to) });
  const custom = h('div', { class: 'custom-range', hidden: f.range !== 'custom' }, field('From', fromIn), field('To', toIn));
  const ruleList = h('datalist', { id: 'rule-ids' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter alerts', onsubmit: (e) => { e.preventDefault(); apply(); } },
    field('Status', statusSel), field('Severity', sevSel), field('Rule', ruleIn), field('User', userIn), field('Host', hostIn),
    field('Time', rangeSel), custom, ruleList,
    h('div', { class: 'filter-actions' },
      h('button', { type: 'button', class: 'link-button', onclick: () => { for (const k of FILTERS) f[k] = ''; syncForm(); apply(); }, text: 'Clear filters' })));

  function syncForm() {
    statusSel.value = f.status; sevSel.value = f.severity; ruleIn.value = f.rule; userIn.value = f.user; hostIn.value = f.host;
    rangeSel.value = f.range; fromIn.value = localInput(f.from); toIn.value = localInput(f.to); custom.hidden = f.range !== 'custom';
  }
  function readForm() {
    f.status = statusSel.value; f.severity = sevSel.value; f.rule = ruleIn.value.trim(); f.user = userIn.value.trim(); f.host = hostIn.value.trim();
    f.range = rangeSel.value; custom.hidden = f.range !== 'custom';
    f.from = f.range === 'custom' && fromIn.value ? new Date(fromIn.value).toISOString() : '';
    f.to = f.range === 'custom' && toIn.value ? new Date(toIn.value).toISOString() : '';
  }
  const applySoon = debounce(() => apply(), 350);
  for (const el of [statusSel, sevSel, rangeSel, fromIn, toIn]) el.addEventListener('change', () => apply());
  for (const el of [ruleIn, userIn, hostIn]) el.addEventListener('input', applySoon);

  // --- counts, toolbar, table
  const counts = h('div', { class: 'sev-counts', role: 'group', 'aria-label': 'Alerts per severity for these filters' });
  const ackBtn = h('button', { type: 'button', class: 'primary', disabled: true, onclick: bulkAck, 'data-testid': 'bulk-ack', text: 'Acknowledge selected' });
  const liveNote = h('span', { class: 'muted small live-note', 'aria-hidden': 'true' });
  const toolbar = h('div', { class: 'toolbar' }, canTriage ? ackBtn : null, liveNote);
  const allBox = h('input', { type: 'checkbox', 'aria-label': 'Select every open alert shown', onchange: (e) => selectAll(e.target.checked) });
  const tbody = h('tbody', {});
  const table = h('table', { class: 'queue', 'aria-label': 'Alerts, newest first' },
    h('thead', {}, h('tr', {},
      canTriage ? h('th', { scope: 'col', class: 'check' }, allBox) : null,
      h('th', { scope: 'col', text: 'Severity' }), h('th', { scope: 'col', text: 'When' }), h('th', { scope: 'col', text: 'What happened' }),
      h('th', { scope: 'col', text: 'Rule' }), h('th', { scope: 'col', text: 'User' }), h('th', { scope: 'col', text: 'Host' }),
      h('th', { scope: 'col', text: 'Status' }), h('th', { scope: 'col', class: 'num', text: 'Risk' }))),
    tbody);
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: loadMore, text: 'Show more' });
  const empty = h('p', { class: 'empty muted', hidden: true, text: 'No alert matches these filters.' });
  const count = h('p', { class: 'muted small', role: 'status', 'data-testid': 'queue-count' });

  replace(ctx.main,
    h('header', { class: 'page-head' }, h('h1', { text: 'Alerts' }), counts),
    form, toolbar, count, h('div', { class: 'table-wrap' }, table), empty, more);

  tbody.addEventListener('keydown', onKey);

  function row(a, isNew = false) {
    const selectable = canTriage && a.status === 'open';
    const box = canTriage ? h('input', {
      type: 'checkbox', 'aria-label': `Select alert ${a.rule_ids?.[0] || ''} for ${a.user || 'unknown user'}`, disabled: !selectable,
      checked: state.selected.has(a.id), onchange: (e) => { if (e.target.checked) state.selected.add(a.id); else state.selected.delete(a.id); updateAck(); },
    }) : null;
    return h('tr', { class: isNew ? 'row new' : 'row', dataset: { id: a.id, status: a.status, severity: a.severity || 'info', user: a.user || '' } },
      canTriage ? h('td', { class: 'check' }, box) : null,
      h('td', {}, sevBadge(a.severity)),
      h('td', { class: 'when' }, timeEl(a.time), h('span', { class: 'muted small', text: ago(a.time) })),
      h('td', { class: 'what' }, h('a', { href: alertHref(a.id), class: 'row-link', text: summary(a) })),
      h('td', { class: 'rules' }, (a.rule_ids || []).map(r => h('code', { text: r }))),
      h('td', {}, a.user ? h('a', { href: userHref(a.user), text: a.user }) : '—'),
      h('td', { text: a.host || '—' }),
      h('td', {}, statusBadge(a.status)),
      h('td', { class: 'num', text: String(a.risk_score ?? '') }));
  }

  function draw() {
    tbody.replaceChildren(...state.alerts.map(a => row(a, a._new)));
    empty.hidden = state.alerts.length > 0;
    table.hidden = state.alerts.length === 0;
    more.hidden = !state.next;
    count.textContent = `${state.alerts.length}${state.next ? '+' : ''} alert${state.alerts.length === 1 ? '' : 's'} shown`;
    updateAck();
  }

  function updateAck() {
    for (const id of [...state.selected]) if (!state.alerts.some(a => a.id === id && a.status === 'open')) state.selected.delete(id);
    ackBtn.disabled = state.selected.size === 0;
    ackBtn.textContent = state.selected.size ? `Acknowledge selected (${state.selected.size})` : 'Acknowledge selected';
    const open = state.alerts.filter(a => a.status === 'open');
    allBox.checked = open.length > 0 && open.every(a => state.selected.has(a.id));
    allBox.disabled = open.length === 0;
  }

  function selectAll(on) {
    for (const a of state.alerts) if (a.status === 'open') { if (on) state.selected.add(a.id); else state.selected.delete(a.id); }
    draw();
  }

  async function drawCounts() {
    const { items, more: capped } = await pages('/api/v1/alerts', apiQuery(false), 'alerts', 1000);
    const per = Object.fromEntries(SEVERITIES.map(s => [s, 0]));
    const rules = new Set();
    for (const a of items) { per[a.severity || 'info']++; for (const r of a.rule_ids || []) rules.add(r); }
    replace(counts, SEVERITIES.map(s => h('button', {
      type: 'button', class: `count-chip sev-border-${s}`, 'aria-pressed': f.severity === s ? 'true' : 'false',
      'data-testid': `count-${s}`, onclick: () => { f.severity = f.severity === s ? '' : s; syncForm(); apply(); },
    }, sevBadge(s), h('span', { class: 'count-num', text: `${per[s]}${capped ? '+' : ''}` }))));
    replace(ruleList, [...rules].sort().map(r => h('option', { value: r })));
  }

  function writeHash() {
    const q = new URLSearchParams();
    for (const k of FILTERS) if (f[k]) q.set(k, f[k]);
    if (!f.status) q.set('status', '');
    history.replaceState(null, '', `#/alerts${q.toString() ? '?' + q : ''}`);
  }

  async function apply() {
    readForm();
    writeHash();
    state.selected.clear();
    try {
      const page = await api.get('/api/v1/alerts', { ...apiQuery(), limit: PAGE });
      state.alerts = page.alerts || [];
      state.next = page.next || '';
      state.known = new Set(state.alerts.map(a => a.id));
      draw();
      await drawCounts();
    } catch (e) {
      if (e.status === 400) toast(`Filter refused: ${e.message}`, 'error'); else throw e;
    }
  }

  async function loadMore() {
    const page = await api.get('/api/v1/alerts', { ...apiQuery(), limit: PAGE, cursor: state.next });
    for (const a of page.alerts || []) if (!state.known.has(a.id)) { state.alerts.push(a); state.known.add(a.id); }
    state.next = page.next || '';
    draw();
  }

  // poll picks up new alerts and status changes on the first page.
  async function poll() {
    if (state.stopped || state.inflight || document.hidden) return;
    state.inflight = true;
    try {
      const page = await api.get('/api/v1/alerts', { ...apiQuery(), limit: PAGE });
      if (state.stopped) return;
      const fresh = (page.alerts || []).filter(a => !state.known.has(a.id));
      const byId = new Map((page.alerts || []).map(a => [a.id, a]));
      let changed = fresh.length > 0;
      state.alerts = state.alerts.map(a => {
        const u = byId.get(a.id);
        if (u && (u.status !== a.status || u.updated !== a.updated)) { changed = true; return u; }
        return a;
      });
      for (const a of state.alerts) delete a._new;
      if (fresh.length) {
        for (const a of fresh) { a._new = true; state.known.add(a.id); }
        state.alerts = [...fresh, ...state.alerts].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
        announce(`${fresh.length} new alert${fresh.length === 1 ? '' : 's'}`);
      }
      if (changed) { draw(); await drawCounts(); }
      liveNote.textContent = `Live · checked ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      liveNote.textContent = `Live updates paused: ${e.message}`;
    } finally {
      state.inflight = false;
    }
  }

  async function bulkAck() {
    const ids = [...state.selected];
    if (!ids.length) return;
    ackBtn.disabled = true;
    let ok = 0;
    const failed = [];
    for (const id of ids) {
      try {
        const a = await api.patch(`/api/v1/alerts/${encodeURIComponent(id)}`, { status: 'acknowledged', comment: 'acknowledged in bulk from the queue' });
        state.alerts = state.alerts.map(x => (x.id === id ? a : x));
        ok++;
      } catch (e) { failed.push(`${id}: ${e.message}`); }
    }
    state.selected.clear();
    if (f.status === 'open') state.alerts = state.alerts.filter(a => a.status === 'open');
    draw();
    await drawCounts();
    const msg = `${ok} alert${ok === 1 ? '' : 's'} acknowledged${failed.length ? `; ${failed.length} failed` : ''}`;
    toast(msg, failed.length ? 'error' : 'info');
    announce(msg);
  }

  // Keyboard: j/k (or arrows) move between rows, Enter opens, x selects.
  function onKey(e) {
    const tr = e.target.closest('tr');
    if (!tr || e.target.tagName === 'INPUT' && e.key !== 'x') return;
    const rows = [...tbody.querySelectorAll('tr')];
    const i = rows.indexOf(tr);
    const focusRow = (r) => r && r.querySelector('a.row-link').focus();
    if (e.key === 'j' || e.key === 'ArrowDown') { e.preventDefault(); focusRow(rows[i + 1]); } else if (e.key === 'k' || e.key === 'ArrowUp') { e.preventDefault(); focusRow(rows[i - 1]); } else if (e.key === 'x' && canTriage) {
      const box = tr.querySelector('input[type=checkbox]');
      if (box && !box.disabled) { e.preventDefault(); box.click(); }
    }
  }

  try {
    await apply();
  } catch (e) {
    if (e.missingRoute) { replace(ctx.main, notAvailable('Alerts')); return undefined; }
    throw e;
  }
  state.timer = setInterval(poll, POLL_MS);
  const onVis = () => { if (!document.hidden) poll(); };
  document.addEventListener('visibilitychange', onVis);
  return () => {
    state.stopped = true;
    clearInterval(state.timer);
    document.removeEventListener('visibilitychange', onVis);
  };
}
