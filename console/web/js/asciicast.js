// A small asciicast v2 player: parse the recording, replay its output
// through a minimal VT100/xterm screen model (cursor motion, erase, scroll,
// 16-colour SGR, alternate screen) and render the screen as text in a
// <pre>. Enough for shells and common tools; not a full terminal.

// parseCast reads asciicast v2: a JSON header line, then one JSON array
// [time, code, data] per line. Malformed lines are skipped and counted.
export function parseCast(text) {
  const lines = text.split('\n');
  let header = null;
  const events = [];
  let skipped = 0;
  for (const line of lines) {
    if (!line.trim()) continue;
    let v;
    try { v = JSON.parse(line); } catch { skipped++; continue; }
    if (!header) {
      if (v && typeof v === 'object' && !Array.isArray(v) && v.version === 2) { header = v; continue; }
      throw new Error('not an asciicast v2 recording: the first line is not a version 2 header');
    }
    if (Array.isArray(v) && v.length >= 3 && typeof v[0] === 'number' && typeof v[1] === 'string' && typeof v[2] === 'string') {
      events.push(v);
    } else skipped++;
  }
  if (!header) throw new Error('empty recording');
  events.sort((a, b) => a[0] - b[0]);
  return {
    width: Math.min(Math.max(header.width | 0, 10), 400) || 80,
    height: Math.min(Math.max(header.height | 0, 2), 200) || 24,
    timestamp: typeof header.timestamp === 'number' ? header.timestamp : 0,
    title: header.title || '',
    events,
    skipped,
    duration: events.length ? events[events.length - 1][0] : 0,
  };
}

const blankStyle = '';

// Terminal is the screen model.
export class Terminal {
  constructor(cols, rows) {
    this.cols = cols;
    this.rows = rows;
    this.reset();
  }

  reset() {
    this.grid = this.blankGrid();
    this.saved = null;
    this.alt = null;
    this.x = 0;
    this.y = 0;
    this.fg = null; this.bg = null; this.bold = false; this.dim = false; this.italic = false;
    this.under = false; this.inverse = false;
    this.state = 0; // 0 text, 1 ESC, 2 CSI, 3 OSC, 4 charset designation
    this.params = '';
    this.top = 0; this.bottom = this.rows - 1;
  }

  blankLine() { return Array.from({ length: this.cols }, () => [' ', blankStyle]); }
  blankGrid() { return Array.from({ length: this.rows }, () => this.blankLine()); }

  style() {
    const c = [];
    let fg = this.fg, bg = this.bg;
    if (this.inverse) { [fg, bg] = [bg ?? 'd-bg', fg ?? 'd-fg']; }
    if (fg !== null) c.push(typeof fg === 'number' ? `f${fg}` : 'f-inv');
    if (bg !== null) c.push(typeof bg === 'number' ? `b${bg}` : 'b-inv');
    if (this.bold) c.push('tb');
    if (this.dim) c.push('td');
    if (this.italic) c.push('ti');
    if (this.under) c.push('tu');
    return c.join(' ');
  }

  write(data) {
    for (const ch of data) this.put(ch);
  }

  put(ch) {
    switch (this.state) {
      case 1: return this.escape(ch);
      case 2: return this.csiChar(ch);
      case 3:
        if (ch === '\x07') this.state = 0;
        else if (ch === '\x1b') this.state = 5;
        return;
      case 4: this.state = 0; return;
      case 5: this.state = ch === '\\' ? 0 : 3; return; // ESC inside OSC: ST ends it
    }
    const code = ch.codePointAt(0);
    if (ch === '\x1b') { this.state = 1; return; }
    if (ch === '\r') { this.x = 0; return; }
    if (ch === '\n' || ch === '\x0b' || ch === '\x0c') { this.lineFeed(); return; }
    if (ch === '\b') { if (this.x > 0) this.x--; return; }
    if (ch === '\t') { this.x = Math.min(this.cols - 1, (Math.floor(this.x / 8) + 1) * 8); return; }
    if (code < 32 || code === 127) return;
    if (this.x >= this.cols) { this.x = 0; this.lineFeed(); }
    this.grid[this.y][this.x] = [ch, this.style()];
    this.x++;
  }

  lineFeed() {
    if (this.y === this.bottom) this.scrollUp(1);
    else if (this.y < this.rows - 1) this.y++;
  }

  scrollUp(n) {
    for (let i = 0; i < n; i++) {
      this.grid.splice(this.top, 1);
      this.grid.splice(this.bottom, 0, this.blankLine());
    }
  }

  scrollDown(n) {
    for (let i = 0; i < n; i++) {
      this.grid.splice(this.bottom, 1);
      this.grid.splice(this.top, 0, this.blankLine());
    }
  }

  escape(ch) {
    this.state = 0;
    switch (ch) {
      case '[': this.state = 2; this.params = ''; return;
      case ']': this.state = 3; return;
      case '(': case ')': case '*': case '+': this.state = 4; return;
      case '7': this.saved = [this.x, this.y]; return;
      case '8': if (this.saved) [this.x, this.y] = this.saved; return;
      case 'D': this.lineFeed(); return;
      case 'E': this.x = 0; this.lineFeed(); return;
      case 'M': if (this.y === this.top) this.scrollDown(1); else if (this.y > 0) this.y--; return;
      case 'c': this.reset(); return;
    }
  }

  csiChar(ch) {
    const code = ch.charCodeAt(0);
    if (code >= 0x40 && code <= 0x7e) {
      this.state = 0;
      this.csi(ch, this.params);
      return;
    }
    if (this.params.length < 64) this.params += ch;
  }

  csi(final, raw) {
    const priv = raw.startsWith('?');
    const ps = (priv ? raw.slice(1) : raw).split(';').map(p => (p === '' ? NaN : parseInt(p, 10)));
    const p = (i, d) => (Number.isNaN(ps[i]) || ps[i] === undefined ? d : ps[i]);
    const clampX = () => { this.x = Math.max(0, Math.min(this.cols - 1, this.x)); };
    const clampY = () => { this.y = Math.max(0, Math.min(this.rows - 1, this.y)); };
    switch (final) {
      case 'A': this.y -= p(0, 1); clampY(); break;
      case 'B': case 'e': this.y += p(0, 1); clampY(); break;
      case 'C': case 'a': this.x += p(0, 1); clampX(); break;
      case 'D': this.x -= p(0, 1); clampX(); break;
      case 'E': this.y += p(0, 1); this.x = 0; clampY(); break;
      case 'F': this.y -= p(0, 1); this.x = 0; clampY(); break;
      case 'G': case '`': this.x = p(0, 1) - 1; clampX(); break;
      case 'd': this.y = p(0, 1) - 1; clampY(); break;
      case 'H': case 'f': this.y = p(0, 1) - 1; this.x = p(1, 1) - 1; clampX(); clampY(); break;
      case 'J': this.eraseDisplay(p(0, 0)); break;
      case 'K': this.eraseLine(p(0, 0)); break;
      case 'X': for (let i = 0; i < p(0, 1) && this.x + i < this.cols; i++) this.grid[this.y][this.x + i] = [' ', blankStyle]; break;
      case 'P': { const row = this.grid[this.y]; row.splice(this.x, p(0, 1)); while (row.length < this.cols) row.push([' ', blankStyle]); break; }
      case '@': { const row = this.grid[this.y]; for (let i = 0; i < p(0, 1); i++) row.splice(this.x, 0, [' ', blankStyle]); row.length = this.cols; break; }
      case 'L': for (let i = 0; i < p(0, 1); i++) { this.grid.splice(this.bottom, 1); this.grid.splice(this.y, 0, this.blankLine()); } break;
      case 'M': for (let i = 0; i < p(0, 1); i++) { this.grid.splice(this.y, 1); this.grid.splice(this.bottom, 0, this.blankLine()); } break;
      case 'S': this.scrollUp(p(0, 1)); break;
      case 'T': this.scrollDown(p(0, 1)); break;
      case 'r': this.top = Math.max(0, p(0, 1) - 1); this.bottom = Math.min(this.rows - 1, p(1, this.rows) - 1);
        if (this.top >= this.bottom) { this.top = 0; this.bottom = this.rows - 1; }
        this.x = 0; this.y = 0; break;
      case 's': this.saved = [this.x, this.y]; break;
      case 'u': if (this.saved) [this.x, this.y] = this.saved; break;
      case 'm': this.sgr(ps); break;
      case 'h': case 'l':
        if (priv && (ps.includes(1049) || ps.includes(47) || ps.includes(1047))) {
          if (final === 'h' && !this.alt) { this.alt = { grid: this.grid, x: this.x, y: this.y }; this.grid = this.blankGrid(); }
          if (final === 'l' && this.alt) { ({ grid: this.grid, x: this.x, y: this.y } = this.alt); this.alt = null; }
        }
        break;
    }
  }

  eraseDisplay(mode) {
    if (mode === 2 || mode === 3) { this.grid = this.blankGrid(); return; }
    if (mode === 0) {
      this.eraseLine(0);
      for (let r = this.y + 1; r < this.rows; r++) this.grid[r] = this.blankLine();
    } else if (mode === 1) {
      this.eraseLine(1);
      for (let r = 0; r < this.y; r++) this.grid[r] = this.blankLine();
    }
  }

  eraseLine(mode) {
    const row = this.grid[this.y];
    const [from, to] = mode === 0 ? [this.x, this.cols] : mode === 1 ? [0, this.x + 1] : [0, this.cols];
    for (let c = from; c < to && c < this.cols; c++) row[c] = [' ', blankStyle];
  }

  sgr(ps) {
    if (!ps.length) ps = [0];
    for (let i = 0; i < ps.length; i++) {
      const v = Number.isNaN(ps[i]) ? 0 : ps[i];
      if (v === 0) { this.fg = this.bg = null; this.bold = this.dim = this.italic = this.under = this.inverse = false; }
      else if (v === 1) this.bold = true;
      else if (v === 2) this.dim = true;
      else if (v === 3) this.italic = true;
      else if (v === 4) this.under = true;
      else if (v === 7) this.inverse = true;
      else if (v === 22) this.bold = this.dim = false;
      else if (v === 23) this.italic = false;
      else if (v === 24) this.under = false;
      else if (v === 27) this.inverse = false;
      else if (v >= 30 && v <= 37) this.fg = v - 30;
      else if (v === 39) this.fg = null;
      else if (v >= 40 && v <= 47) this.bg = v - 40;
      else if (v === 49) this.bg = null;
      else if (v >= 90 && v <= 97) this.fg = v - 90 + 8;
      else if (v >= 100 && v <= 107) this.bg = v - 100 + 8;
      else if (v === 38 || v === 48) {
        // 256-colour and true-colour: the first 16 map to the palette,
        // others to the nearest of the 16.
        let c = null;
        if (ps[i + 1] === 5) { c = xterm256to16(ps[i + 2]); i += 2; } else if (ps[i + 1] === 2) { c = rgbTo16(ps[i + 2], ps[i + 3], ps[i + 4]); i += 4; }
        if (v === 38) this.fg = c; else this.bg = c;
      }
    }
  }

  // text returns the screen as plain lines (trailing blanks trimmed).
  text() {
    return this.grid.map(r => r.map(c => c[0]).join('').replace(/\s+$/, '')).join('\n');
  }

  // render draws the screen into a <pre>, one span per run of one style.
  render(pre) {
    const frag = document.createDocumentFragment();
    this.grid.forEach((row, r) => {
      let run = '', style = null;
      const flush = () => {
        if (!run) return;
        if (style) { const sp = document.createElement('span'); sp.className = style; sp.textContent = run; frag.append(sp); } else frag.append(run);
        run = '';
      };
      row.forEach(([ch, st], c) => {
        const cur = (r === this.y && c === this.x) ? (st ? st + ' cursor' : 'cursor') : st;
        if (cur !== style) { flush(); style = cur; }
        run += ch;
      });
      flush();
      if (r < this.rows - 1) frag.append('\n');
    });
    pre.replaceChildren(frag);
  }
}

function xterm256to16(n) {
  if (typeof n !== 'number' || Number.isNaN(n)) return null;
  if (n < 16) return n;
  if (n >= 232) return n < 244 ? 8 : 7;
  n -= 16;
  return rgbTo16(Math.floor(n / 36) * 51, Math.floor((n / 6) % 6) * 51, (n % 6) * 51);
}

function rgbTo16(r, g, b) {
  if ([r, g, b].some(v => typeof v !== 'number' || Number.isNaN(v))) return null;
  const bright = Math.max(r, g, b) > 170;
  const idx = (r > 100 ? 1 : 0) | (g > 100 ? 2 : 0) | (b > 100 ? 4 : 0);
  return idx + (bright ? 8 : 0);
}

// CastPlayer keeps a Terminal in step with a time offset (seconds from
// the start of the recording), replaying from the start when seeking back.
export class CastPlayer {
  constructor(cast) {
    this.cast = cast;
    this.term = new Terminal(cast.width, cast.height);
    this.i = 0;
    this.t = 0;
  }

  seek(t) {
    if (t < this.t) { this.term.reset(); this.i = 0; }
    const ev = this.cast.events;
    while (this.i < ev.length && ev[this.i][0] <= t) {
      if (ev[this.i][1] === 'o') this.term.write(ev[this.i][2]);
      else if (ev[this.i][1] === 'r') {
        const m = /^(\d+)x(\d+)$/.exec(ev[this.i][2]);
        if (m) this.resize(+m[1], +m[2]);
      }
      this.i++;
    }
    this.t = t;
    return this.i;
  }

  resize(cols, rows) {
    cols = Math.min(Math.max(cols, 10), 400);
    rows = Math.min(Math.max(rows, 2), 200);
    const t = this.term;
    const grid = t.grid;
    t.cols = cols; t.rows = rows; t.bottom = rows - 1; t.top = 0;
    t.grid = t.blankGrid();
    for (let r = 0; r < Math.min(rows, grid.length); r++) {
      for (let c = 0; c < Math.min(cols, grid[r].length); c++) t.grid[r][c] = grid[r][c];
    }
    t.x = Math.min(t.x, cols - 1); t.y = Math.min(t.y, rows - 1);
  }
}
