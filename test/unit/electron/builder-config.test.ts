// The installer's configuration as electron-builder itself reads and validates it: the fuses that
// close code-injection paths into the packaged app, and which compiled files ship in it.
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { minimatch } from 'minimatch';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface BuilderConfig {
  /** Patterns, or pattern sets as electron-builder normalises them ({ filter }). */
  files?: (string | { from?: string; filter?: string[] })[];
  electronFuses?: Record<string, boolean>;
  asar?: boolean;
}

async function loadConfig(): Promise<BuilderConfig> {
  const { getConfig, validateConfiguration } = (await import('app-builder-lib/out/util/config/config.js')) as unknown as {
    getConfig(dir: string, path: string, extra: null): Promise<BuilderConfig>;
    validateConfiguration(config: BuilderConfig, logger: unknown): Promise<void>;
  };
  const { DebugLogger } = (await import('builder-util/out/DebugLogger.js')) as unknown as { DebugLogger: new (enabled: boolean) => unknown };
  const config = await getConfig(ROOT, join(ROOT, 'electron-builder.yml'), null);
  await validateConfiguration(config, new DebugLogger(false));
  return config;
}

/** The dist/ path each TypeScript source of the build compiles to. */
function compiledFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(`dist/${relative(ROOT, p).replace(/\.ts$/, '.js')}`);
    }
  };
  for (const top of ['main', 'preload', 'worker', 'common', 'coordinator']) walk(join(ROOT, top));
  return out;
}

/** electron-builder's rule: a file ships when the last pattern that matches it is not negated. */
function ships(file: string, patterns: string[]): boolean {
  let included = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    if (minimatch(file, negated ? p.slice(1) : p, { dot: true })) included = !negated;
  }
  return included;
}

describe('the installer configuration', () => {
  it('is valid for electron-builder and flips the fuses that let code in from outside the app', async () => {
    const config = await loadConfig();
    expect(config.asar).toBe(true);
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      loadBrowserProcessSpecificV8Snapshot: false,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('ships the app, its worker and its services, and none of the CLIs, the demo, the headless host or the coordinator', async () => {
    const patterns = ((await loadConfig()).files ?? []).flatMap((f) => (typeof f === 'string' ? [f] : f.from ? [] : (f.filter ?? [])));
    const files = compiledFiles();
    const shipped = files.filter((f) => ships(f, patterns));
    for (const needed of ['dist/main/electron/main.js', 'dist/main/electron/worker-launcher.js', 'dist/worker/main.js', 'dist/main/services/vault/vault.js', 'dist/common/ipc/contract.js']) {
      expect(shipped).toContain(needed);
    }
    const tools = shipped.filter((f) => /^dist\/(main\/cli|main\/host|coordinator|preload)\//.test(f));
    expect(tools).toEqual([]);
    // Positive control: the same rule without the exclusions would ship the demo and the coordinator.
    const unfiltered = files.filter((f) => ships(f, patterns.filter((p) => !p.startsWith('!'))));
    expect(unfiltered).toContain('dist/main/cli/demo.js');
    expect(unfiltered).toContain('dist/coordinator/server.js');
  });
});
