// Charts drawn as inline SVG: a sparkline, horizontal bars and stacked
// columns over time. Each chart is an image with a text alternative
// (role="img", aria-label) and a <title> per mark for pointer users.

import { s, h, fmtDay, SEVERITIES } from './dom.js';

// sparkline draws values as a line with the last point marked.
export function sparkline(values, { width = 120, height = 28, label = '' } = {}) {
  const max = Math.max(1, ...values);
  const n = values.length;
  const x = (i) => (n <= 1 ? width / 2 : (i * (width - 4)) / (n - 1) + 2);
  const y = (v) => height - 3 - (v / max) * (height - 6);
  const pts = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const total = values.reduce((a, b) => a + b, 0);
  return s('svg', {
    class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': label || `${total} alerts`,
  },
  s('title', { text: label || `${total} alerts` }),
  s('line', { x1: 0, x2: width, y1: height - 3, y2: height - 3, class: 'spark-base' }),
  s('polyline', { points: pts, class: 'spark-line', fill: 'none' }),
  n ? s('circle', { cx: x(n - 1), cy: y(values[n - 1]), r: 2.5, class: 'spark-dot' }) : null);
}

// barChart draws one horizontal bar per item ({label, value, href,
// className}), largest first as given.
export function barChart(items, { label = '', width = 1000, barHeight = 18 } = {}) {
  if (!items.length) return h('p', { class: 'muted', text: 'Nothing to chart yet.' });
  const max = Math.max(1, ...items.map(i => i.value));
  const labelW = Math.min(300, Math.max(90, ...items.map(i => i.label.length * 7.4 + 12)));
  const plotW = Math.min(560, width - labelW - 50);
  const height = items.length * (barHeight + 6) + 4;
  const svg = s('svg', {
    class: 'chart bars', viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img',
    'aria-label': label + ': ' + items.map(i => `${i.label} ${i.value}`).join(', '),
  });
  items.forEach((it, i) => {
    const y = i * (barHeight + 6) + 2;
    const w = Math.max(2, (it.value / max) * plotW);
    const g = s('g', { class: 'bar-row' },
      s('title', { text: `${it.label}: ${it.value}` }),
      s('text', { x: labelW - 8, y: y + barHeight / 2 + 4, class: 'bar-label', 'text-anchor': 'end', text: truncate(it.label, 34) }),
      s('rect', { x: labelW, y, width: w, height: barHeight, rx: 3, class: `bar ${it.className || ''}` }),
      s('text', { x: labelW + w + 6, y: y + barHeight / 2 + 4, class: 'bar-value', text: String(it.value) }));
    if (it.href) {
      const a = s('a', { href: it.href, 'aria-label': `${it.label}: ${it.value}` }, g);
      svg.append(a);
    } else svg.append(g);
  });
  return svg;
}

function truncate(t, n) { return t.length > n ? t.slice(0, n - 1) + '…' : t; }

// bucketize counts items per time bucket and severity. items have time and
// severity; from/to are Dates; the bucket is chosen to give 12 to 48 columns.
export function bucketize(items, from, to) {
  const span = to - from;
  const steps = [3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 7 * 86400e3];
  let step = steps[steps.length - 1];
  for (const st of steps) if (span / st <= 48) { step = st; break; }
  const start = Math.floor(from / step) * step;
  const n = Math.max(1, Math.ceil((to - start) / step));
  const buckets = Array.from({ length: n }, (_, i) => ({ t: new Date(start + i * step), counts: {}, total: 0 }));
  for (const it of items) {
    const i = Math.floor((new Date(it.time) - start) / step);
    if (i < 0 || i >= n) continue;
    const sev = it.severity || 'info';
    buckets[i].counts[sev] = (buckets[i].counts[sev] || 0) + 1;
    buckets[i].total++;
  }
  return { buckets, step };
}

// timeChart draws stacked columns per bucket, coloured by severity.
export function timeChart({ buckets, step }, { label = 'Alerts over time', width = 720, height = 200 } = {}) {
  const padL = 34, padB = 26, padT = 8;
  const plotW = width - padL - 8, plotH = height - padB - padT;
  const max = Math.max(1, ...buckets.map(b => b.total));
  const nice = niceMax(max);
  const bw = plotW / buckets.length;
  const svg = s('svg', {
    class: 'chart time', viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img',
    'aria-label': `${label}: ${buckets.reduce((a, b) => a + b.total, 0)} alerts in ${buckets.length} periods, at most ${max} in one`,
  });
  const ticks = nice < 4 ? nice : 4;
  for (let i = 0; i <= ticks; i++) {
    const v = (nice * i) / ticks;
    const y = padT + plotH - (v / nice) * plotH;
    svg.append(s('line', { x1: padL, x2: width - 8, y1: y, y2: y, class: 'grid' }),
      s('text', { x: padL - 6, y: y + 4, 'text-anchor': 'end', class: 'axis', text: String(Math.round(v)) }));
  }
  const order = [...SEVERITIES].reverse();
  const labelEvery = Math.ceil(buckets.length / 8);
  buckets.forEach((b, i) => {
    let y = padT + plotH;
    const x = padL + i * bw + 1;
    const g = s('g', {}, s('title', { text: `${bucketLabel(b.t, step)}: ${b.total} alert${b.total === 1 ? '' : 's'}` +
      (b.total ? ' (' + SEVERITIES.filter(sv => b.counts[sv]).map(sv => `${b.counts[sv]} ${sv}`).join(', ') + ')' : '') }));
    g.append(s('rect', { x, y: padT, width: Math.max(1, bw - 2), height: plotH, class: 'hover-target' }));
    for (const sev of order) {
      const c = b.counts[sev] || 0;
      if (!c) continue;
      const hh = (c / nice) * plotH;
      y -= hh;
      g.append(s('rect', { x, y, width: Math.max(1, bw - 2), height: hh, class: `col sev-fill-${sev}` }));
    }
    svg.append(g);
    if (i % labelEvery === 0) {
      svg.append(s('text', { x: x + bw / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis', text: bucketLabel(b.t, step, true) }));
    }
  });
  return svg;
}

function niceMax(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function bucketLabel(t, step, short = false) {
  if (step >= 86400e3) return fmtDay(t);
  const hh = String(t.getHours()).padStart(2, '0');
  return short ? (t.getHours() === 0 || step >= 6 * 3600e3 ? `${fmtDay(t)} ${hh}h` : `${hh}:00`) : `${fmtDay(t)} ${hh}:00`;
}

// legend shows the severity colours.
export function severityLegend() {
  return h('ul', { class: 'legend', 'aria-hidden': 'true' },
    SEVERITIES.map(sv => h('li', {}, h('span', { class: `swatch sev-bg-${sv}` }), sv)));
}
