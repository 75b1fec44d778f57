// Small DOM and formatting helpers shared by every view. No framework: h()
// builds elements, text always goes in as text (never as HTML), so nothing
// the API returns can inject markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h(tag, attrs, ...children) builds an element. attrs: class, text, on*
// handlers (functions), dataset (object), aria-* and other attributes;
// a value of false/null/undefined leaves the attribute out. Children may be
// nodes, strings, numbers, arrays or null.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// s(tag, attrs, ...children) builds an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' && 'checked' in el) el.checked = !!v;
    else if (k === 'class' && el instanceof SVGElement) el.setAttribute('class', v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// clear removes every child of el and appends the given children.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Time formatting: times are shown in the browser's zone, with the UTC
// value in the title attribute.
const dtf = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const tf = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const df = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

export function fmtTime(t) {
  if (!t) return '—';
  const d = t instanceof Date ? t : new Date(t);
  return isNaN(d) ? String(t) : dtf.format(d);
}
export function fmtClock(t) {
  const d = t instanceof Date ? t : new Date(t);
  return isNaN(d) ? '' : tf.format(d);
}
export function fmtDay(t) {
  const d = t instanceof Date ? t : new Date(t);
  return isNaN(d) ? '' : df.format(d);
}

// timeEl renders a <time> with the local time and the ISO value.
export function timeEl(t) {
  if (!t) return h('span', { class: 'muted', text: '—' });
  return h('time', { datetime: t, title: t, text: fmtTime(t) });
}

// ago says how long ago t was, in words.
export function ago(t, now = Date.now()) {
  const d = (now - new Date(t).getTime()) / 1000;
  if (!isFinite(d)) return '';
  if (d < 60) return 'just now';
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86400)} days ago`;
}

// fmtOffset formats milliseconds as m:ss.t (or h:mm:ss).
export function fmtOffset(ms) {
  const neg = ms < 0;
  ms = Math.abs(ms);
  const tenths = Math.floor((ms % 1000) / 100);
  let sec = Math.floor(ms / 1000);
  const hrs = Math.floor(sec / 3600);
  sec -= hrs * 3600;
  const min = Math.floor(sec / 60);
  sec -= min * 60;
  const ss = String(sec).padStart(2, '0');
  const body = hrs ? `${hrs}:${String(min).padStart(2, '0')}:${ss}` : `${min}:${ss}.${tenths}`;
  return (neg ? '−' : '') + body;
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
export const STATUSES = ['open', 'acknowledged', 'resolved', 'false-positive'];

export function sevBadge(sev) {
  const v = sev || 'info';
  return h('span', { class: `badge sev sev-${v}`, text: v });
}
export function statusBadge(st) {
  return h('span', { class: `badge status status-${st}`, text: st === 'false-positive' ? 'false positive' : st });
}

// announce speaks a message to screen readers (and shows nothing else).
export function announce(msg) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  // A new text node after a tick makes screen readers read repeats too.
  setTimeout(() => { live.textContent = msg; }, 30);
}

// toast shows a short message at the bottom of the screen.
export function toast(msg, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', text: msg });
  box.append(t);
  setTimeout(() => t.remove(), 6000);
}

// notAvailable is the panel a view shows when the server has no such
// endpoint (an older or newer server, or a feature not configured).
export function notAvailable(what, detail) {
  return h('section', { class: 'panel not-available', 'data-testid': 'not-available' },
    h('h2', { text: `${what}: not available` }),
    h('p', { text: detail || 'This server does not offer this yet. Nothing is wrong with your data; the console shows it once the server has the endpoint.' }));
}

// errorPanel shows an API error in a view.
export function errorPanel(err) {
  return h('section', { class: 'panel error-panel', role: 'alert' },
    h('h2', { text: 'Something went wrong' }),
    h('p', { text: err && err.message ? err.message : String(err) }),
    err && err.requestId ? h('p', { class: 'muted', text: `Request id ${err.requestId}` }) : null);
}

export function loading(label = 'Loading…') {
  return h('p', { class: 'loading', role: 'status', text: label });
}

// debounce delays fn until calls stop for ms.
export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// field renders a labelled form control.
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' },
    h('label', { for: id, text: label }), control,
    hint ? h('small', { class: 'muted', text: hint }) : null);
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs },
    options.map(o => {
      const [v, label] = Array.isArray(o) ? o : [o, o];
      return h('option', { value: v, text: label, selected: v === value });
    }));
}

// link renders an in-app link.
export function link(href, text, attrs = {}) {
  return h('a', { href, ...attrs, text });
}

export function userHref(name) { return `#/people/${encodeURIComponent(name)}`; }
export function alertHref(id) { return `#/alerts/${encodeURIComponent(id)}`; }
