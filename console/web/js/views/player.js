// The evidence section of an alert and the evidence player: asks why the
// viewer opens the package (the server audits every view with that
// reason), then plays the screen frames as video with the keystrokes,
// the clipboard and the terminal session in step on one clock, and shows
// whether the package verifies.

import { api, evidenceFile } from '../api.js';
import { h, s, replace, timeEl, fmtClock, fmtOffset, fmtBytes, notAvailable, announce, field } from '../dom.js';
import { parseCast, CastPlayer } from '../asciicast.js';

const SPEEDS = [0.5, 1, 2, 4, 8, 16];

// listEvidence reads the packages of an alert, whatever the list's key.
function packagesOf(res) {
  if (Array.isArray(res)) return res;
  return res?.evidence || res?.packages || res?.items || [];
}

export async function evidenceSection(alert, ctx) {
  const head = h('h2', { id: 'ev-h', text: 'Evidence' });
  let list;
  try {
    list = packagesOf(await api.get(`/api/v1/alerts/${encodeURIComponent(alert.id)}/evidence`));
  } catch (e) {
    if (e.missingRoute) {
      return { nodes: [head, notAvailable('Evidence', 'This server does not serve evidence packages yet (GET /api/v1/alerts/{id}/evidence).')] };
    }
    if (e.status === 403) {
      return { nodes: [head, h('p', { class: 'muted', text: 'Evidence is opened by analysts and administrators; your role sees its viewings in the audit log.' })] };
    }
    if (e.status === 503) {
      return { nodes: [head, notAvailable('Evidence', `Evidence is not configured on this server: ${e.message}`)] };
    }
    throw e;
  }
  if (!list.length) {
    return { nodes: [head, h('p', { class: 'muted', text: 'No evidence package was captured for this alert. Evidence is captured on the endpoint only when the rule asks for it.' })] };
  }
  const stage = h('div', { class: 'player-stage' });
  let stop = null;
  const rows = list.map(p => {
    const pid = p.package_id || p.id;
    const btn = h('button', { type: 'button', class: 'primary', 'aria-haspopup': 'dialog', 'data-testid': 'open-evidence', text: 'Open…' });
    btn.addEventListener('click', async () => {
      const reason = await askReason(pid);
      if (!reason) { btn.focus(); return; }
      if (stop) stop();
      stop = await openPlayer(stage, p, reason, alert);
    });
    return h('li', { class: 'package' },
      h('div', {},
        h('strong', {}, h('code', { text: pid })),
        h('p', { class: 'muted small' }, 'captured ', timeEl(p.created), ` · ${fmtBytes(p.size)} · `,
          p.verified ? h('span', { class: 'ok', text: 'verified on receipt' }) : h('span', { class: 'warn', text: 'not verified yet' }))),
      btn);
  });
  return {
    nodes: [head,
      h('p', { class: 'muted small', text: 'Opening a package is recorded in the audit log with your reason.' }),
      h('ul', { class: 'packages' }, rows), stage],
    cleanup: () => { if (stop) stop(); },
  };
}

// askReason shows a modal dialog and resolves to the reason, or "" when
// cancelled.
function askReason(pid) {
  return new Promise(resolve => {
    const ta = h('textarea', { name: 'reason', rows: 3, required: true, minlength: 4, maxlength: 500, 'data-testid': 'reason' });
    const err = h('p', { class: 'form-error', role: 'alert' });
    const dlg = h('dialog', { class: 'reason-dialog', 'aria-labelledby': 'reason-h' });
    const close = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'reason-h', text: 'Why are you opening this evidence?' }),
      h('p', { class: 'muted', text: `Package ${pid}. Your reason is written to the audit log with your token's name; auditors read it.` }),
      field('Reason', ta, 'For example: case INC-1234, reviewing the USB copy with HR.'),
      err,
      h('div', { class: 'button-row' },
        h('button', { type: 'submit', class: 'primary', value: 'open', text: 'Open evidence' }),
        h('button', { type: 'button', class: 'secondary', onclick: () => close(''), text: 'Cancel' })));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const r = ta.value.trim();
      if (r.length < 4) { err.textContent = 'Give a reason of at least 4 characters.'; ta.focus(); return; }
      close(r);
    });
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(''); });
    dlg.append(form);
    document.body.append(dlg);
    dlg.showModal();
    ta.focus();
  });
}

function parseJSONL(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try { out.push(JSON.parse(line)); } catch { /* a damaged line: verification says so */ }
  }
  return out;
}

// manifestFiles returns the manifest's files as a Map path → {sha256, size},
// whether it lists them as an array or an object.
function manifestFiles(m) {
  const out = new Map();
  const f = m?.files;
  if (Array.isArray(f)) for (const e of f) out.set(e.path || e.name, e);
  else if (f && typeof f === 'object') for (const [k, v] of Object.entries(f)) out.set(k, v);
  return out;
}

async function sha256Hex(buf) {
  if (!globalThis.crypto?.subtle) return null;
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(d)].map(b => b.toString(16).padStart(2, '0')).join('');
}

async function openPlayer(stage, pkg, reason, alert) {
  const pid = pkg.package_id || pkg.id;
  const urls = [];
  let raf = 0;
  let stopped = false;
  const progress = h('p', { class: 'loading', role: 'status', text: 'Opening the package…' });
  replace(stage, progress);
  const get = (path) => evidenceFile(pid, path, reason);
  const hashes = { checked: 0, bad: [] };

  let manifest;
  try {
    manifest = await (await get('manifest.json')).json();
  } catch (e) {
    replace(stage, e.missingRoute
      ? notAvailable('Evidence player', 'This server does not serve the files of a package yet (GET /api/v1/evidence/{id}/file?path=…&reason=…).')
      : h('p', { class: 'form-error', role: 'alert', text: `Cannot open the package: ${e.message}` }));
    return () => {};
  }
  const files = manifestFiles(manifest);
  const has = (p) => files.size === 0 || files.has(p);
  const check = async (path, buf) => {
    const want = files.get(path)?.sha256;
    if (!want) return;
    const got = await sha256Hex(buf);
    if (got === null) return;
    hashes.checked++;
    if (got !== want.toLowerCase()) hashes.bad.push(path);
  };
  const text = async (path) => {
    if (!has(path)) return null;
    try {
      const buf = await (await get(path)).arrayBuffer();
      await check(path, buf);
      return new TextDecoder().decode(buf);
    } catch (e) { if (e.status === 404) return null; throw e; }
  };

  const verifyP = api.post(`/api/v1/evidence/${encodeURIComponent(pid)}/verify`, { reason }).then(v => ({ v }), e => ({ e }));
  const castFiles = (manifest.terminals || []).map(t => t.file).filter(Boolean);
  if (!castFiles.length && (files.size === 0 || files.has('session.cast'))) castFiles.push('session.cast');
  const [framesText, keysText, clipText, castText] = await Promise.all(
    ['frames/frames.json', 'keystrokes.jsonl', 'clipboard.jsonl', castFiles[0] || ''].map(p => (p ? text(p) : null)));
  let frames = [];
  if (framesText) {
    const j = JSON.parse(framesText);
    frames = (Array.isArray(j) ? j : j.frames || []).map((f, i) => {
      let file = f.file || f.path || f.name || `${String(i + 1).padStart(6, '0')}.jpg`;
      if (!file.startsWith('frames/')) file = `frames/${file}`;
      return { t: new Date(f.t).getTime(), file, sha256: f.sha256, url: '' };
    }).filter(f => !isNaN(f.t)).sort((a, b) => a.t - b.t);
  }
  const keys = keysText ? parseJSONL(keysText).map(k => ({ ...k, ms: new Date(k.t).getTime() })).filter(k => !isNaN(k.ms)) : [];
  const clips = clipText ? parseJSONL(clipText).map(k => ({ ...k, ms: new Date(k.t).getTime() })).filter(k => !isNaN(k.ms)) : [];
  let cast = null, castErr = '';
  if (castText) { try { cast = parseCast(castText); } catch (e) { castErr = e.message; } }

  // Frames load in the background, four at a time, as blobs: the <img>
  // cannot send the bearer token itself.
  let loaded = 0;
  const loadFrames = async () => {
    let next = 0;
    const worker = async () => {
      while (!stopped && next < frames.length) {
        const f = frames[next++];
        try {
          const buf = await (await get(f.file)).arrayBuffer();
          await check(f.file, buf);
          if (f.sha256 && !files.has(f.file)) {
            const got = await sha256Hex(buf);
            if (got !== null) { hashes.checked++; if (got !== f.sha256.toLowerCase()) hashes.bad.push(f.file); }
          }
          f.url = URL.createObjectURL(new Blob([buf], { type: 'image/jpeg' }));
          urls.push(f.url);
        } catch (e) { f.error = e.message; }
        loaded++;
        progress.textContent = `Loading frames ${loaded}/${frames.length}…`;
        if (loaded === frames.length) { progress.textContent = ''; drawVerify(); }
        update(true);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  };

  // The clock: wall-clock milliseconds, from the first to the last record.
  const castStart = cast ? (cast.timestamp ? cast.timestamp * 1000 : (frames[0]?.t ?? keys[0]?.ms ?? Date.now())) : 0;
  const times = [...frames.map(f => f.t), ...keys.map(k => k.ms), ...clips.map(c => c.ms)];
  if (cast) times.push(castStart, castStart + cast.duration * 1000);
  const win = manifest.window || manifest.time_window || {};
  const ws = new Date(win.start || win.from || manifest.start || NaN).getTime();
  const we = new Date(win.end || win.to || manifest.end || NaN).getTime();
  if (!isNaN(ws)) times.push(ws);
  if (!isNaN(we)) times.push(we);
  if (!times.length) { replace(stage, h('p', { class: 'muted', text: 'The package holds no frames, keystrokes, clipboard or terminal records.' })); return () => {}; }
  const start = Math.min(...times);
  const end = Math.max(...times, start + 1000);
  const dur = end - start;
  const alertMs = new Date(alert.time).getTime();
  let cur = 0, playing = false, speed = 1, last = 0;

  // --- controls
  const img = h('img', { class: 'frame', alt: 'Screen frame', 'data-testid': 'frame', hidden: !frames.length });
  const noScreen = h('p', { class: 'muted no-screen', hidden: !!frames.length, text: 'No screen frames in this package.' });
  const playBtn = h('button', { type: 'button', class: 'primary play', 'aria-label': 'Play', 'data-testid': 'play', text: '▶ Play' });
  const speedSel = h('select', { 'aria-label': 'Playback speed', 'data-testid': 'speed' },
    SPEEDS.map(v => h('option', { value: String(v), selected: v === 1, text: `${v}×` })));
  const seek = h('input', { type: 'range', min: 0, max: String(dur), step: 100, value: 0, class: 'seek', 'aria-label': 'Position in the recording', 'data-testid': 'seek' });
  const clock = h('span', { class: 'clock', 'data-testid': 'clock', 'aria-live': 'off' });
  const frameNo = h('span', { class: 'muted small', 'data-testid': 'frame-no' });
  const keyList = h('ol', { class: 'log keys', 'data-testid': 'keystrokes', tabindex: '0', 'aria-label': 'Keystrokes' });
  const clipList = h('ol', { class: 'log clips', 'data-testid': 'clipboard', tabindex: '0', 'aria-label': 'Clipboard' });
  const term = h('pre', { class: 'terminal', 'data-testid': 'terminal', 'aria-label': 'Terminal session', tabindex: '0' });
  const verifyBox = h('div', { class: 'verify', role: 'status', 'data-testid': 'verify' }, 'Checking the package…');
  const castPlayer = cast ? new CastPlayer(cast) : null;

  const seekTo = (ms) => { cur = Math.max(0, Math.min(dur, ms)); update(); };
  const logItem = (e, body) => {
    const li = h('li', { dataset: { ms: String(e.ms) } },
      h('button', { type: 'button', class: 'log-time', title: new Date(e.ms).toISOString(), 'aria-label': `Go to ${fmtClock(e.ms)}`, onclick: () => seekTo(e.ms - start), text: fmtOffset(e.ms - start) }),
      h('span', { class: 'log-body' }, body));
    return li;
  };
  keyList.append(...keys.map(k => logItem(k, [h('span', { class: 'log-window', text: k.window || k.app || '' }),
    h('span', { class: k.masked ? 'typed masked' : 'typed', text: k.masked ? '•••• (masked)' : k.text })])));
  clipList.append(...clips.map(c => logItem(c, [h('span', { class: 'log-window', text: `${c.operation || ''}${c.app ? ' · ' + c.app : ''}${c.window ? ' · ' + c.window : ''}` }),
    h('span', { class: 'typed', text: c.masked ? '•••• (masked)' : c.text || (c.files?.length ? c.files.join(', ') : `${c.length ?? 0} bytes${c.format ? ' of ' + c.format : ''}`) })])));
  if (!keys.length) keyList.append(h('li', { class: 'muted', text: 'No keystrokes in this package.' }));
  if (!clips.length) clipList.append(h('li', { class: 'muted', text: 'No clipboard records in this package.' }));

  // Markers on the timeline: keystrokes, clipboard, the alert.
  const marks = s('svg', { class: 'marks', viewBox: '0 0 1000 14', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  const mx = (ms) => ((ms - start) / dur) * 1000;
  for (const k of keys) marks.append(s('rect', { x: mx(k.ms), y: 0, width: 2, height: 6, class: 'mark-key' }));
  for (const c of clips) marks.append(s('rect', { x: mx(c.ms), y: 8, width: 3, height: 6, class: 'mark-clip' }));
  if (alertMs >= start && alertMs <= end) marks.append(s('rect', { x: mx(alertMs) - 1.5, y: 0, width: 3, height: 14, class: 'mark-alert' }));

  const togglePlay = () => {
    playing = !playing;
    if (playing && cur >= dur) cur = 0;
    playBtn.textContent = playing ? '❚❚ Pause' : '▶ Play';
    playBtn.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    last = performance.now();
    if (playing) raf = requestAnimationFrame(tick);
    announce(playing ? 'Playing' : 'Paused');
  };
  playBtn.addEventListener('click', togglePlay);
  speedSel.addEventListener('change', () => { speed = parseFloat(speedSel.value) || 1; });
  seek.addEventListener('input', () => { cur = parseFloat(seek.value) || 0; update(); });

  function tick(now) {
    if (!playing || stopped) return;
    cur += (now - last) * speed;
    last = now;
    if (cur >= dur) { cur = dur; playing = false; playBtn.textContent = '▶ Play'; playBtn.setAttribute('aria-label', 'Play'); }
    update();
    if (playing) raf = requestAnimationFrame(tick);
  }

  let shownFrame = -1, shownCast = -1, lastKey = null, lastClip = null;
  function update(force = false) {
    const abs = start + cur;
    if (document.activeElement !== seek || playing) seek.value = String(Math.round(cur));
    clock.textContent = `${fmtClock(abs)} · ${fmtOffset(cur)} / ${fmtOffset(dur)}`;
    clock.dataset.ms = String(Math.round(cur));
    if (frames.length) {
      let lo = 0, hi = frames.length - 1, idx = 0;
      while (lo <= hi) { const m = (lo + hi) >> 1; if (frames[m].t <= abs) { idx = m; lo = m + 1; } else hi = m - 1; }
      if (idx !== shownFrame || force) {
        const f = frames[idx];
        if (f.url) { img.src = f.url; shownFrame = idx; }
        img.dataset.index = String(idx);
        img.alt = `Screen at ${fmtClock(f.t)}`;
        frameNo.textContent = `frame ${idx + 1} of ${frames.length} · ${fmtClock(f.t)}`;
      }
    }
    lastKey = mark(keyList, abs, lastKey);
    lastClip = mark(clipList, abs, lastClip);
    if (castPlayer) {
      const i = castPlayer.seek(Math.max(0, (abs - castStart) / 1000));
      if (i !== shownCast) { castPlayer.term.render(term); shownCast = i; }
    }
  }

  // mark greys out the future entries of a log and points at the current
  // one, scrolling the log (not the page) to it.
  function mark(list, abs, prev) {
    let current = null;
    for (const li of list.children) {
      const ms = Number(li.dataset.ms);
      if (isNaN(ms)) continue;
      const past = ms <= abs;
      li.classList.toggle('future', !past);
      if (past) current = li;
    }
    if (current !== prev) {
      if (prev) { prev.classList.remove('current'); prev.removeAttribute('aria-current'); }
      if (current) {
        current.classList.add('current');
        current.setAttribute('aria-current', 'true');
        const top = current.offsetTop - list.offsetTop;
        if (top < list.scrollTop || top > list.scrollTop + list.clientHeight - current.offsetHeight) list.scrollTop = Math.max(0, top - list.clientHeight / 3);
      }
    }
    return current;
  }

  function drawVerify() {
    verifyP.then(({ v, e }) => {
      const local = hashes.checked
        ? (hashes.bad.length ? h('p', { class: 'bad', text: `In this browser: ${hashes.bad.length} of ${hashes.checked} files do not match their recorded SHA-256 (${hashes.bad.slice(0, 5).join(', ')}).` })
          : h('p', { class: 'ok', text: `In this browser: all ${hashes.checked} files read match their recorded SHA-256.` }))
        : null;
      let server;
      if (e) {
        server = e.missingRoute
          ? h('p', { class: 'muted', text: pkg.verified ? `Verified by the server on receipt${pkg.verified_at ? ' (' + pkg.verified_at + ')' : ''}; this server cannot re-verify on demand.` : 'This server cannot verify packages on demand yet.' })
          : h('p', { class: 'bad', text: `Verification failed to run: ${e.message}` });
      } else {
        // {evidence, verdict: {ok, problems, report}}, the report being
        // that of `vigil evidence verify`.
        const verdict = v.verdict || v;
        const r = verdict.report || {};
        const ok = verdict.ok;
        const failures = verdict.problems || r.failures || [];
        const warnings = r.warnings || [];
        v = r;
        const facts = [
          v.files_checked !== undefined ? `${v.files_checked} files and ${v.frames_checked ?? 0} frames checked` : '',
          v.signed_by ? `signed by agent key ${v.signed_by}${v.key_pinned ? ' (the enrolled key)' : ' (the key in the manifest)'}` : '',
          v.countersigned ? `countersigned by the server${v.countersigned_by ? ' key ' + v.countersigned_by : ''}` : 'not countersigned',
        ].filter(Boolean).join(' · ');
        server = h('div', {},
          h('p', { class: ok ? 'ok' : 'bad', 'data-testid': 'verify-verdict', text: ok ? '✔ Verified: every hash, the frame chain and the signatures check out.' : '✘ Verification failed: this package was altered or is incomplete.' }),
          facts ? h('p', { class: 'muted small', text: facts }) : null,
          failures.length ? h('ul', { class: 'checks' }, failures.map(p => h('li', { class: 'bad', text: typeof p === 'string' ? p : (p.message || JSON.stringify(p)) }))) : null,
          warnings.length ? h('ul', { class: 'checks' }, warnings.map(p => h('li', { class: 'warn', text: String(p) }))) : null);
      }
      replace(verifyBox, server, local, manifest.partial ? h('p', { class: 'warn', text: 'Marked partial: capture stopped before the post-roll ended.' }) : null);
    });
  }

  // The full-resolution screenshot taken when the rule fired.
  function screenshotButton() {
    const box = h('div', { class: 'shot' });
    const b = h('button', { type: 'button', class: 'secondary', text: 'Show the full screenshot taken at the alert' });
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        const buf = await (await get('screenshot.png')).arrayBuffer();
        await check('screenshot.png', buf);
        const u = URL.createObjectURL(new Blob([buf], { type: 'image/png' }));
        urls.push(u);
        replace(box, h('img', { src: u, class: 'frame', alt: 'Full-resolution screenshot at the moment of the alert' }));
      } catch (e) { replace(box, h('p', { class: 'form-error', text: e.message })); }
    });
    box.append(b);
    return box;
  }

  // Keyboard shortcuts inside the player: space plays/pauses, arrows step.
  const player = h('div', { class: 'player', tabindex: '-1', 'aria-label': 'Evidence player', role: 'region' });
  player.addEventListener('keydown', (e) => {
    if (e.target.tagName === 'TEXTAREA' || e.target.tagName === 'SELECT' || (e.target.tagName === 'INPUT' && e.target !== seek)) return;
    if (e.key === ' ' && e.target.tagName !== 'BUTTON') { e.preventDefault(); togglePlay(); } else if (e.key === 'k' || e.key === 'K') { togglePlay(); }
  });

  const facts = h('dl', { class: 'facts compact' },
    h('dt', { text: 'Host' }), h('dd', { text: manifest.host?.name || manifest.host || alert.host || '—' }),
    h('dt', { text: 'User' }), h('dd', { text: manifest.user?.name || manifest.user || alert.user || '—' }),
    h('dt', { text: 'Window' }), h('dd', { text: `${fmtClock(start)} – ${fmtClock(end)} (${fmtOffset(dur)})` }),
    h('dt', { text: 'Rules' }), h('dd', { text: (manifest.rule_ids || manifest.rules || alert.rule_ids || []).join(', ') }),
    h('dt', { text: 'Bundle' }), h('dd', { text: manifest.bundle_revision || manifest.bundle?.revision || alert.bundle_revision || '—' }));

  append(player,
    h('h3', { text: `Package ${pid}` }),
    verifyBox, progress,
    h('div', { class: 'player-grid' },
      h('div', { class: 'screen' }, img, noScreen,
        h('div', { class: 'controls' }, playBtn, field('Speed', speedSel), clock, frameNo),
        h('div', { class: 'timeline-wrap' }, seek, marks,
          h('p', { class: 'muted small legend-line' }, h('span', { class: 'swatch mark-key-bg' }), 'keystrokes ', h('span', { class: 'swatch mark-clip-bg' }), 'clipboard ', h('span', { class: 'swatch mark-alert-bg' }), 'the alert'))),
      h('div', { class: 'logs' },
        h('div', {}, h('h4', { text: 'Keystrokes' }), keyList),
        h('div', {}, h('h4', { text: 'Clipboard' }), clipList),
        facts)),
    cast ? h('div', { class: 'term-wrap' }, h('h4', { text: `Terminal session${cast.title ? ': ' + cast.title : ''} (${cast.width}×${cast.height})` }), term,
      castFiles.length > 1 ? h('p', { class: 'muted small', text: `${castFiles.length - 1} more terminal session${castFiles.length > 2 ? 's' : ''} in the package: ${castFiles.slice(1).join(', ')}.` }) : null)
      : castErr ? h('p', { class: 'form-error', text: `The terminal recording cannot be read: ${castErr}` }) : null,
    has('screenshot.png') && files.size ? screenshotButton() : null);
  replace(stage, player);
  if (!frames.length) progress.textContent = '';
  update(true);
  player.focus();
  if (!frames.length) drawVerify();
  loadFrames();
  announce(`Evidence opened: ${frames.length} frames, ${keys.length} keystroke records`);

  return () => {
    stopped = true;
    playing = false;
    cancelAnimationFrame(raf);
    for (const u of urls) URL.revokeObjectURL(u);
  };
}

function append(el, ...c) { for (const x of c) if (x) el.append(x); return el; }
