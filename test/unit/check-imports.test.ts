import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkImports } from '../../scripts/check-imports.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('import rules', () => {
  let root: string;
  const write = (rel: string, text: string) => {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'trove-imports-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('the project itself follows every rule', () => {
    expect(checkImports(projectRoot)).toEqual([]);
  });

  it('rejects each crossing that DESIGN.md forbids, in every folder', () => {
    write('common/a.ts', "import fs from 'node:fs';\nimport { x } from '../main/services/x.js';\nimport React from 'react';\nimport z from 'zod';\n");
    write('renderer/app.tsx', "import { readFileSync } from 'fs';\nimport { Vault } from '../main/services/vault/vault.js';\nimport { TroveError } from '../common/errors.js';\nimport { create } from 'zustand';\n");
    write('worker/w.ts', "import { v } from '../main/services/vault/index.js';\nimport { r } from '../renderer/app.js';\nimport { c } from '../common/errors.js';\n");
    write('main/services/s.ts', "import { app } from 'electron';\n");
    write('main/electron/main.ts', "import { app } from 'electron';\n");
    write('preload/p.ts', "const e = require('electron');\n");
    write('coordinator/c.ts', "import('../worker/w.js');\n");

    const found = checkImports(root).map((v) => `${v.file} ${v.specifier}`);
    expect(found.sort()).toEqual(
      [
        'common/a.ts node:fs',
        'common/a.ts ../main/services/x.js',
        'common/a.ts react',
        'renderer/app.tsx fs',
        'renderer/app.tsx ../main/services/vault/vault.js',
        'worker/w.ts ../main/services/vault/index.js',
        'worker/w.ts ../renderer/app.js',
        'main/services/s.ts electron',
        'preload/p.ts electron',
        'coordinator/c.ts ../worker/w.js',
      ].sort(),
    );
  });

  it('keeps each folder to its own allowlist: services never reach the shell, the tools or the contracts', () => {
    write('main/services/jobs/a.ts', "import { w } from '../../electron/window.js';\nimport { d } from '../../cli/demo.js';\nimport { e } from '../../../contracts/enrollment.js';\nimport { v } from '../vault/index.js';\nimport { x } from '../../../common/errors.js';\n");
    write('main/ipc/router.ts', "import { s } from '../electron/main.js';\nimport { v } from '../services/vault/index.js';\n");
    write('contracts/deploy.ts', "import { s } from '../main/services/session/session.js';\nimport { x } from '../common/errors.js';\n");
    write('main/electron/main.ts', "import { a } from '../../preload/api.js';\nimport { b } from '../../preload/headless.js';\nimport { s } from '../security.js';\n");
    write('main/cli/demo.ts', "import { c } from '../../coordinator/server.js';\nimport { r } from '../electron/main.js';\n");
    write('test/anything.ts', "import { r } from '../main/electron/main.js';\n");

    const found = checkImports(root);
    expect(found.map((v) => `${v.file} ${v.specifier}`).sort()).toEqual(
      [
        'main/services/jobs/a.ts ../../electron/window.js',
        'main/services/jobs/a.ts ../../cli/demo.js',
        'main/services/jobs/a.ts ../../../contracts/enrollment.js',
        'main/ipc/router.ts ../electron/main.js',
        'contracts/deploy.ts ../main/services/session/session.js',
        'main/electron/main.ts ../../preload/headless.js',
        'main/cli/demo.ts ../electron/main.js',
      ].sort(),
    );
    const services = found.find((v) => v.specifier === '../../electron/window.js');
    expect(services?.rule).toBe('main/services/** may import only main/services/**, common/**; not main/electron/window.js');
  });
});
