#!/usr/bin/env node
// The one list of the addon's C++ sources, shared by CMakeLists.txt and
// binding.gyp: every .cc file under native/, except the fuzz targets, which
// are separate programs. Prints paths relative to the repository root, one
// per line (or space-separated with --gyp, for node-gyp's <!@(...) expansion).
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const skip = new Set(['native/fuzz']);

function walk(dir) {
  const out = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!skip.has(path)) out.push(...walk(path));
    } else if (entry.name.endsWith('.cc')) {
      out.push(path);
    }
  }
  return out;
}

const sources = walk('native').sort();
if (process.argv.includes('--dirs')) {
  const dirs = new Set(sources.map((s) => dirname(s)));
  process.stdout.write([...dirs].map((d) => relative(root, join(root, d))).join('\n'));
} else {
  process.stdout.write(sources.join(process.argv.includes('--gyp') ? ' ' : '\n'));
}
