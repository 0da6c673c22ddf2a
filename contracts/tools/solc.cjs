#!/usr/bin/env node
// forge runs offline only when it is handed a compiler. This answers forge the way the native
// solc binary does (`--version`, `--standard-json` on stdin) by running solc-js from npm.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const solc = require('solc');

const args = process.argv.slice(2);

if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write('only --version and --standard-json are supported\n');
  process.exit(2);
}

// forge passes --base-path / --include-path / --allow-paths; imports it did not inline are read from there.
const roots = [process.cwd()];
for (let i = 0; i < args.length; i++) {
  if ((args[i] === '--base-path' || args[i] === '--include-path') && args[i + 1]) roots.push(path.resolve(args[i + 1]));
}

function findImports(importPath) {
  for (const root of roots) {
    const full = path.resolve(root, importPath);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
  }
  return { error: `File not found: ${importPath}` };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
