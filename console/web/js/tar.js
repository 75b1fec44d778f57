// Reading a policy bundle tarball in the browser: gunzip with the
// platform's DecompressionStream, then a small ustar reader. Used to list
// the rules of the active bundle from GET /api/v1/bundles/active.

export async function gunzip(blob) {
  const ds = new DecompressionStream('gzip');
  const buf = await new Response(blob.stream().pipeThrough(ds)).arrayBuffer();
  return new Uint8Array(buf);
}

// untar returns the regular files of a tar archive as a Map of path (no
// leading "/" or "./") to bytes. It understands ustar names with prefix
// and GNU/PAX long names.
export function untar(bytes, maxFiles = 10000) {
  const files = new Map();
  const dec = new TextDecoder();
  const str = (off, len) => {
    let end = off;
    while (end < off + len && bytes[end] !== 0) end++;
    return dec.decode(bytes.subarray(off, end));
  };
  const oct = (off, len) => parseInt(str(off, len).trim() || '0', 8);
  let off = 0;
  let longName = '';
  while (off + 512 <= bytes.length && files.size < maxFiles) {
    if (bytes.subarray(off, off + 512).every(b => b === 0)) break;
    let name = str(off, 100);
    const size = oct(off + 124, 12);
    const type = String.fromCharCode(bytes[off + 156] || 48);
    const prefix = str(off + 345, 155);
    if (prefix && str(off + 257, 6).startsWith('ustar')) name = prefix + '/' + name;
    const dataStart = off + 512;
    const data = bytes.subarray(dataStart, dataStart + size);
    if (type === 'L') longName = dec.decode(data).replace(/\0+$/, '');
    else if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(dec.decode(data));
      if (m) longName = m[1];
    } else {
      if (longName) { name = longName; longName = ''; }
      if (type === '0' || type === '\0' || type === '7') files.set(name.replace(/^\.?\//, ''), data);
    }
    off = dataStart + Math.ceil(size / 512) * 512;
  }
  return files;
}

// bundleRules reads the rules and manifest of a built bundle tarball.
export async function bundleRules(blob) {
  const files = untar(await gunzip(blob));
  const dec = new TextDecoder();
  const read = (p) => (files.has(p) ? JSON.parse(dec.decode(files.get(p))) : null);
  const manifest = read('.manifest') || {};
  let rules = null;
  for (const [p] of files) {
    if (/(^|\/)_rules\/data\.json$/.test(p)) { rules = read(p); break; }
  }
  return { manifest, rules: Array.isArray(rules) ? rules : [], files: [...files.keys()] };
}
