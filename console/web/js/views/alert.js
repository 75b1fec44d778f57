// One alert: what happened in plain words, why it fired (findings, window
// counts against thresholds, Rego reasons, bundle revision), who the user
// is, the user's flagged events around it, its evidence, and its triage
// history with the controls to move it on.

import { api, person } from '../api.js';
import {
  h, replace, sevBadge, statusBadge, timeEl, fmtClock, fmtTime, field, toast, announce, userHref, alertHref,
  errorPanel,
} from '../dom.js';
import { summary, actionPhrase } from '../words.js';
import { evidenceSection } from './player.js';

const NEXT = {
  open: [['acknowledged', 'Acknowledge']],
  acknowledged: [['resolved', 'Resolve'], ['false-positive', 'Mark false positive']],
};

export async function render(ctx) {
  const id = ctx.params[0];
  const detail = await api.get(`/api/v1/alerts/${encodeURIComponent(id)}`);
  const { alert: a, history, decision: d } = detail;
  const ev = d?.input?.event;
  const title = d?.findings?.[0]?.title || a.rule_ids?.[0] || 'Alert';
  ctx.setTitle(title);
  const canTriage = ctx.session.role === 'admin' || ctx.session.role === 'analyst';
  const cleanups = [];

  const userBox = h('section', { class: 'panel', 'aria-labelledby': 'user-h' }, h('h2', { id: 'user-h', text: 'The user' }), h('p', { class: 'muted', text: 'Loading…' }));
  const timelineBox = h('section', { class: 'panel', 'aria-labelledby': 'tl-h' }, h('h2', { id: 'tl-h', text: 'Timeline around the alert' }), h('p', { class: 'muted', text: 'Loading…' }));
  const evidenceBox = h('section', { class: 'panel evidence', 'aria-labelledby': 'ev-h' }, h('h2', { id: 'ev-h', text: 'Evidence' }), h('p', { class: 'muted', text: 'Loading…' }));

  replace(ctx.main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/alerts', text: 'Alerts' }), ' / ', h('span', { text: a.id })),
    h('header', { class: 'page-head alert-head' },
      h('div', {},
        h('h1', {}, sevBadge(a.severity), ' ', title),
        h('p', { class: 'lead', 'data-testid': 'alert-summary', text: summary(a, ev) }),
        h('p', { class: 'muted' }, timeEl(a.time), ` · risk ${a.risk_score} · `, statusBadge(a.status),
          a.assignee ? ` · assigned to ${a.assignee}` : '')),
    ),
    h('div', { class: 'grid-main' },
      h('div', { class: 'col' },
        explanation(a, d),
        evidenceBox,
        timelineBox),
      h('div', { class: 'col side' },
        canTriage ? triage(a) : null,
        historyPanel(history),
        userBox,
        eventPanel(ev))));

  // The side panels load after the page shows.
  loadUser(a, ev).then(n => replace(userBox, ...n)).catch(e => replace(userBox, errorPanel(e)));
  loadTimeline(a).then(n => replace(timelineBox, ...n)).catch(e => replace(timelineBox, errorPanel(e)));
  evidenceSection(a, ctx).then(({ nodes, cleanup }) => { replace(evidenceBox, ...nodes); if (cleanup) cleanups.push(cleanup); })
    .catch(e => replace(evidenceBox, h('h2', { text: 'Evidence' }), errorPanel(e)));

  function triage(alert) {
    const choices = NEXT[alert.status] || [];
    const comment = h('textarea', { name: 'comment', rows: 3, placeholder: 'What you found, what you did' });
    const assignee = h('input', { type: 'text', name: 'assignee', value: alert.assignee || '', autocomplete: 'off' });
    const err = h('p', { class: 'form-error', role: 'alert' });
    const send = async (body, btn) => {
      err.textContent = '';
      btn.disabled = true;
      try {
        const c = comment.value.trim();
        if (c) body.comment = c;
        const as = assignee.value.trim();
        if (as !== (alert.assignee || '')) body.assignee = as;
        if (!body.status && !body.comment && body.assignee === undefined) { err.textContent = 'Write a comment or change the assignee first.'; return; }
        await api.patch(`/api/v1/alerts/${encodeURIComponent(alert.id)}`, body);
        const msg = body.status ? `Alert ${body.status === 'false-positive' ? 'marked false positive' : body.status}` : 'Saved';
        toast(msg);
        announce(msg);
        ctx.navigate(alertHref(alert.id), { replace: true });
      } catch (e) {
        err.textContent = e.message;
      } finally { btn.disabled = false; }
    };
    const form = h('form', { class: 'panel triage', 'aria-labelledby': 'triage-h', onsubmit: (e) => e.preventDefault() },
      h('h2', { id: 'triage-h', text: 'Triage' }),
      field('Comment', comment), field('Assignee', assignee),
      err,
      h('div', { class: 'button-row' },
        choices.map(([to, label], i) => {
          const b = h('button', { type: 'button', class: i === 0 ? 'primary' : 'secondary', 'data-status': to, text: label });
          b.addEventListener('click', () => send({ status: to }, b));
          return b;
        }),
        (() => {
          const b = h('button', { type: 'button', class: 'secondary', text: 'Save comment' });
          b.addEventListener('click', () => send({}, b));
          return b;
        })()),
      choices.length ? null : h('p', { class: 'muted small', text: `This alert is ${alert.status}: its status is final.` }));
    return form;
  }

  return () => { for (const c of cleanups) c(); };
}

function explanation(a, d) {
  const box = h('section', { class: 'panel', 'aria-labelledby': 'why-h' }, h('h2', { id: 'why-h', text: 'Why it fired' }));
  if (!d) {
    box.append(h('p', { class: 'muted', text: 'The decision that raised this alert is no longer stored (retention). Rules: ' + (a.rule_ids || []).join(', ') }));
    return box;
  }
  box.append(h('dl', { class: 'facts' },
    h('dt', { text: 'Policy bundle' }), h('dd', {}, h('code', { text: `${d.bundle?.name || a.bundle_name}@${d.bundle?.revision || a.bundle_revision}` })),
    h('dt', { text: 'Decided by' }), h('dd', { text: d.decided_by === 'rego' ? 'the decision policy (Rego)' : (d.decided_by || '—') }),
    h('dt', { text: 'Risk score' }), h('dd', { text: String(d.risk_score) }),
    d.actions?.length ? [h('dt', { text: 'Actions asked' }), h('dd', { text: d.actions.join(', ') })] : null,
    h('dt', { text: 'Decision' }), h('dd', {}, h('code', { text: d.decision_id || a.decision_id }))));
  if (d.reasons?.length) {
    box.append(h('h3', { text: 'Reasons given by the decision policy' }),
      h('ul', { class: 'reasons', 'data-testid': 'reasons' }, d.reasons.map(r => h('li', { text: r }))));
  }
  box.append(h('h3', { text: 'Findings' }));
  for (const fd of d.findings || []) box.append(finding(fd));
  if (d.errors?.length) box.append(h('p', { class: 'form-error', text: `Evaluation errors: ${d.errors.join('; ')}` }));
  return box;
}

function finding(fd) {
  const parts = [];
  if (fd.window) {
    const w = fd.window;
    const agg = w.aggregate === 'count' ? 'events' : `${w.aggregate}${w.field ? ` of ${w.field}` : ''}`;
    parts.push(h('div', { class: 'window-meter', 'data-testid': 'window' },
      h('p', {}, h('strong', { text: `${fmtNum(w.value)} ${agg}` }), ` within ${w.window} — threshold ${w.op || '≥'} ${fmtNum(w.limit)}`),
      meter(w.value, w.limit),
      h('p', { class: 'muted small' }, 'from ', timeEl(w.start), ' to ', timeEl(w.end))));
  }
  if (fd.sequence) {
    parts.push(h('div', {}, h('p', { text: `A sequence of ${fd.sequence.steps.length} steps within ${fd.sequence.within}:` }),
      h('ol', { class: 'steps' }, fd.sequence.steps.map(st => h('li', {},
        h('strong', { text: st.id }), ' at ', timeEl(st.at), ' ', h('code', { class: 'small', text: st.when }))))));
  }
  if (fd.first_seen) {
    const fs = fd.first_seen;
    parts.push(h('p', { text: `First time in ${fs.within}: ${fs.field} = “${fs.value}” (${fs.known_values} values known before).` }));
  }
  if (fd.baseline) {
    const b = fd.baseline;
    parts.push(h('p', { text: `${fmtNum(b.current)} in ${b.window}, above the limit of ${fmtNum(b.limit)} (own mean ${fmtNum(b.mean)}, σ ${fmtNum(b.stddev)} over ${b.history_buckets} periods).` }));
  }
  return h('article', { class: 'finding' },
    h('header', {}, sevBadge(fd.severity), ' ', h('strong', { text: fd.title }), ' ',
      h('a', { href: `#/policies?rule=${encodeURIComponent(fd.rule)}`, class: 'code-link' }, h('code', { text: `${fd.rule} v${fd.rule_version}` }))),
    fd.message && fd.message !== fd.title ? h('p', { text: fd.message }) : null,
    fd.condition ? h('details', {}, h('summary', { text: 'Condition' }), h('pre', { class: 'code', text: fd.condition })) : null,
    ...parts,
    h('p', { class: 'muted small' }, `${fd.kind} rule · `, h('code', { text: fd.source }),
      fd.key && Object.keys(fd.key).length ? ` · key ${Object.entries(fd.key).map(([k, v]) => `${k}=${v}`).join(', ')}` : '',
      fd.tags?.length ? ` · ${fd.tags.join(', ')}` : ''));
}

function meter(value, limit) {
  const max = Math.max(value, limit) * 1.1 || 1;
  const m = h('div', { class: 'meter', role: 'img', 'aria-label': `${fmtNum(value)} against a threshold of ${fmtNum(limit)}` },
    h('div', { class: 'meter-fill' }), h('div', { class: 'meter-limit' }));
  m.firstChild.style.width = `${Math.min(100, (value / max) * 100)}%`;
  m.lastChild.style.left = `${(limit / max) * 100}%`;
  return m;
}

function fmtNum(v) { return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v ?? '—'); }

function historyPanel(history) {
  return h('section', { class: 'panel', 'aria-labelledby': 'hist-h' },
    h('h2', { id: 'hist-h', text: 'Status and comments' }),
    h('ol', { class: 'history', 'data-testid': 'history' }, history.map(c => h('li', {},
      h('div', {}, h('strong', { text: c.actor }), ' ',
        c.from_status && c.from_status !== c.to_status ? [statusBadge(c.from_status), ' → ', statusBadge(c.to_status)]
          : !c.from_status ? ['raised ', statusBadge(c.to_status)] : null,
        c.assignee ? h('span', { class: 'muted', text: ` · assignee ${c.assignee}` }) : null),
      c.comment ? h('p', { class: 'comment', text: c.comment }) : null,
      h('p', { class: 'muted small' }, timeEl(c.time))))));
}

async function loadUser(a, ev) {
  const head = h('h2', { id: 'user-h' }, 'The user: ', a.user ? h('a', { href: userHref(a.user), text: a.user }) : 'unknown');
  if (!a.user) return [head, h('p', { class: 'muted', text: 'The event names no user.' })];
  const u = await person(a.user);
  const eu = ev?.user || {};
  const rows = [
    ['Name', u?.full_name || eu.full_name],
    ['Department', u?.department || eu.department],
    ['Title', u?.title || eu.title],
    ['Manager', u?.manager || eu.manager],
    ['Employment', u?.employment_status || eu.employment?.status],
    ['Leaving date', u?.end_date || eu.employment?.end_date],
    ['Contractor', (u?.contractor ?? eu.contractor) ? 'yes' : null],
    ['Privileged', (u?.privileged ?? eu.privileged) ? 'yes' : null],
    ['Watchlists', (u?.watchlists || eu.watchlists || []).join(', ')],
    ['Groups', (u?.groups || eu.groups || []).join(', ')],
    ['Risk (period)', u?.risk ? `${u.risk.score} from ${u.risk.alerts} alert${u.risk.alerts === 1 ? '' : 's'}` : null],
  ].filter(r => r[1]);
  const leaving = (u?.employment_status || eu.employment?.status) === 'notice' || (u?.end_date || eu.employment?.end_date);
  return [head,
    u ? null : h('p', { class: 'muted small', text: 'Not in the directory; what the event said about the user is shown.' }),
    leaving ? h('p', { class: 'flag', text: 'Leaving the organisation' }) : null,
    rows.length ? h('dl', { class: 'facts', 'data-testid': 'user-context' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]))
      : h('p', { class: 'muted', text: 'No directory context.' })];
}

// loadTimeline lists the user's recorded decisions (events with findings)
// from two hours before to two hours after the alert.
async function loadTimeline(a) {
  const head = h('h2', { id: 'tl-h', text: 'Timeline around the alert' });
  if (!a.user) return [head, h('p', { class: 'muted', text: 'No user to follow.' })];
  const t = new Date(a.time).getTime();
  const from = new Date(t - 2 * 3600e3).toISOString();
  const to = new Date(t + 2 * 3600e3).toISOString();
  const res = await api.get('/api/v1/decisions', { user: a.user, from, to, limit: 200 });
  const items = (res.decisions || []).slice().sort((x, y) => (x.time < y.time ? -1 : 1));
  return [head,
    h('p', { class: 'muted small', text: `${a.user}'s events that met a rule, ${fmtTime(from)} to ${fmtTime(to)}.` }),
    items.length ? h('ol', { class: 'timeline', 'data-testid': 'timeline' }, items.map(dr => {
      const here = dr.id === a.decision_id;
      return h('li', { class: here ? 'here' : (dr.alert ? 'alerting' : '') },
        h('span', { class: 'tl-time' }, h('time', { datetime: dr.time, title: dr.time, text: fmtClock(dr.time) })),
        h('span', { class: 'tl-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'tl-body' },
          h('span', { text: `${actionPhrase(dr.action)}${dr.host ? ` on ${dr.host}` : ''}` }), ' ',
          (dr.rule_ids || []).map(r => h('code', { class: 'small', text: r })),
          here ? h('strong', { class: 'here-tag', text: ' ← this alert' }) : (dr.alert ? sevBadge(dr.severity) : null)));
    })) : h('p', { class: 'muted', text: 'No other recorded events in this period.' })];
}

function eventPanel(ev) {
  const box = h('section', { class: 'panel', 'aria-labelledby': 'event-h' }, h('h2', { id: 'event-h', text: 'The event' }));
  if (!ev) { box.append(h('p', { class: 'muted', text: 'Not stored.' })); return box; }
  const rows = [];
  const walk = (o, prefix) => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, key);
      else if (key !== 'event.ocsf.class_uid' && key !== 'event.ocsf.activity_id') rows.push([key, Array.isArray(v) ? v.map(x => (typeof x === 'object' ? JSON.stringify(x) : x)).join(', ') : String(v)]);
    }
  };
  walk(ev, '');
  box.append(h('p', { class: 'muted small', text: 'Sensitive fields are masked in the recorded decision.' }),
    h('dl', { class: 'facts event-fields' }, rows.map(([k, v]) => [h('dt', {}, h('code', { text: k })), h('dd', { text: v })])));
  return box;
}

