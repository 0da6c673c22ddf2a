// Checks the import rules of DESIGN.md: a file's folder says which process it runs in, and an
// import may not cross into an environment that process does not have.
//
//   common/    no node, electron or DOM module; only environment-free packages
//   renderer/  only common/ and browser packages
//   electron   imported only under main/electron/
//   worker/    never main/ or renderer/
//   coordinator/ never main/, renderer/, preload/ or worker/ (it is the researcher's program)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const AREAS = ['main', 'preload', 'renderer', 'worker', 'common', 'contracts', 'coordinator', 'test', 'bench', 'scripts'] as const;
type Area = (typeof AREAS)[number];

/** Packages that run anywhere (no node, DOM or native code): the only ones common/ may use. */
const ENVIRONMENT_FREE_PACKAGES = new Set(['zod', 'libsodium-wrappers-sumo']);
/** Packages the renderer may use besides common/: browser-only UI packages. */
const BROWSER_PACKAGES = new Set(['react', 'react-dom', 'react-dom/client', 'zustand', 'zod', 'qrcode']);

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'out', 'cache', '.git', 'fixtures-out']);

export interface ImportViolation {
  file: string;
  specifier: string;
  rule: string;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function areaOf(relPath: string): Area | undefined {
  const top = relPath.split(sep)[0];
  return (AREAS as readonly string[]).includes(top ?? '') ? (top as Area) : undefined;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (SOURCE_EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The rule an import breaks, or undefined when it is allowed. */
function brokenRule(fromRel: string, specifier: string, root: string): string | undefined {
  const from = areaOf(fromRel);
  if (!from) return undefined;
  const isRelative = specifier.startsWith('.') || specifier.startsWith('/');
  const targetRel = isRelative ? relative(root, resolve(root, dirname(fromRel), specifier)) : undefined;
  const targetArea = targetRel !== undefined ? areaOf(targetRel) : undefined;
  if (targetRel !== undefined && (targetRel.startsWith('..') || targetArea === undefined)) {
    return 'imports reach outside the project folders';
  }
  const pkg = isRelative ? undefined : packageName(specifier);
  const inElectronFolder = fromRel.startsWith(join('main', 'electron') + sep);

  if (pkg === 'electron' && !inElectronFolder) return "only main/electron/ may import 'electron'";

  switch (from) {
    case 'common':
      if (targetArea && targetArea !== 'common') return `common/ may not import ${targetArea}/`;
      if (pkg && NODE_BUILTINS.has(specifier)) return 'common/ may not import node modules';
      if (pkg && !ENVIRONMENT_FREE_PACKAGES.has(pkg)) return `common/ may only import environment-free packages, not '${pkg}'`;
      return undefined;
    case 'renderer':
      if (targetArea && targetArea !== 'renderer' && targetArea !== 'common') return `renderer/ may only import common/, not ${targetArea}/`;
      if (pkg && NODE_BUILTINS.has(specifier)) return 'renderer/ may not import node modules';
      if (pkg && !BROWSER_PACKAGES.has(pkg) && !BROWSER_PACKAGES.has(specifier)) return `renderer/ may only import browser packages, not '${pkg}'`;
      return undefined;
    case 'worker':
      if (targetArea === 'main' || targetArea === 'renderer' || targetArea === 'preload') return `worker/ may not import ${targetArea}/`;
      return undefined;
    case 'preload':
      if (targetArea && targetArea !== 'preload' && targetArea !== 'common') return `preload/ may only import common/, not ${targetArea}/`;
      if (pkg && NODE_BUILTINS.has(specifier)) return 'preload/ runs sandboxed and may not import node modules';
      return undefined;
    case 'coordinator':
      if (targetArea === 'main' || targetArea === 'renderer' || targetArea === 'preload' || targetArea === 'worker') {
        return `coordinator/ may not import ${targetArea}/`;
      }
      return undefined;
    case 'main':
      if (targetArea === 'renderer') return 'main/ may not import renderer/';
      return undefined;
    default:
      return undefined;
  }
}

export function checkImports(root: string): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const area of AREAS) {
    let dir: string;
    try {
      dir = join(root, area);
      if (!statSync(dir).isDirectory()) continue;
    } catch {
      continue;
    }
    for (const file of sourceFiles(dir)) {
      const rel = relative(root, file);
      for (const specifier of importsOf(file)) {
        const rule = brokenRule(rel, specifier, root);
        if (rule) violations.push({ file: rel, specifier, rule });
      }
    }
  }
  return violations;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const violations = checkImports(root);
  for (const v of violations) console.error(`${v.file}: '${v.specifier}': ${v.rule}`);
  if (violations.length > 0) {
    console.error(`import rules: ${violations.length} violation(s)`);
    process.exit(1);
  }
  console.log('import rules: ok');
}
