// Checks the import rules of DESIGN.md: a file's folder says which process it runs in, and an
// import may not cross into an environment that process does not have.
//
// Two kinds of rule:
//   folders:  FOLDER_RULES lists, per folder, the only project folders its files may import
//             (like VS Code's code-import-patterns); the most specific pattern wins.
//   packages: common/ uses only environment-free packages; renderer/ only browser packages;
//             preload/ no node modules; 'electron' only under main/electron/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const AREAS = ['main', 'preload', 'renderer', 'worker', 'common', 'contracts', 'coordinator', 'relay', 'relayer', 'test', 'bench', 'scripts'] as const;
type Area = (typeof AREAS)[number];

/** Packages that run anywhere (no node, DOM or native code): the only ones common/ may use. */
const ENVIRONMENT_FREE_PACKAGES = new Set(['zod', 'libsodium-wrappers-sumo', 'ethers', '@semaphore-protocol/identity', '@zxcvbn-ts/core', '@zxcvbn-ts/language-common', '@zxcvbn-ts/language-en']);
/** Packages the renderer may use besides common/: browser-only UI packages. */
const BROWSER_PACKAGES = new Set(['react', 'react-dom', 'react-dom/client', 'zustand', 'zod', 'qrcode']);

/**
 * Which project files each folder may import. A pattern ending in '/**' covers a folder and all
 * below it; anything else names one file. Test, bench and script folders may import anything.
 */
export const FOLDER_RULES: readonly { from: string; allow: readonly string[] }[] = [
  { from: 'common/**', allow: ['common/**'] },
  { from: 'renderer/**', allow: ['renderer/**', 'common/**'] },
  { from: 'preload/**', allow: ['preload/**', 'common/**'] },
  { from: 'worker/**', allow: ['worker/**', 'common/**'] },
  { from: 'main/security.ts', allow: ['common/**'] },
  { from: 'main/services/**', allow: ['main/services/**', 'common/**'] },
  { from: 'main/ipc/**', allow: ['main/ipc/**', 'main/services/**', 'common/**'] },
  { from: 'main/host/**', allow: ['main/host/**', 'main/ipc/**', 'main/services/**', 'main/security.ts', 'common/**'] },
  {
    from: 'main/electron/**',
    allow: ['main/electron/**', 'main/ipc/**', 'main/services/**', 'main/security.ts', 'preload/api.ts', 'common/**'],
  },
  // The developer's command line tools: the demo runs a whole local network (chain, coordinator).
  { from: 'main/cli/**', allow: ['main/cli/**', 'main/services/**', 'coordinator/**', 'contracts/**', 'relay/**', 'relayer/**', 'common/**'] },
  { from: 'contracts/**', allow: ['contracts/**', 'common/**'] },
  { from: 'coordinator/**', allow: ['coordinator/**', 'contracts/**', 'common/**'] },
  // The local WalletConnect relay stands alone: tests and the demo start it.
  { from: 'relay/**', allow: ['relay/**'] },
  // Anyone's claim relayer: its own server and store, the contracts it submits to.
  { from: 'relayer/**', allow: ['relayer/**', 'contracts/**', 'common/**'] },
  { from: 'test/**', allow: ['**'] },
  { from: 'bench/**', allow: ['**'] },
  { from: 'scripts/**', allow: ['**'] },
];

function matches(pattern: string, rel: string): boolean {
  if (pattern === '**') return true;
  if (pattern.endsWith('/**')) return rel.startsWith(pattern.slice(0, -2));
  return rel === pattern;
}

/** The rule for a file: the matching pattern with the longest fixed prefix. */
function folderRuleFor(rel: string): (typeof FOLDER_RULES)[number] | undefined {
  let best: (typeof FOLDER_RULES)[number] | undefined;
  for (const rule of FOLDER_RULES) {
    if (!matches(rule.from, rel)) continue;
    if (!best || rule.from.replace('/**', '').length > best.from.replace('/**', '').length) best = rule;
  }
  return best;
}

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

const withoutExtension = (rel: string) => rel.replace(/\.(m|c)?[jt]sx?$/, '');

/** The rule an import breaks, or undefined when it is allowed. */
function brokenRule(fromRel: string, specifier: string, root: string): string | undefined {
  const from = areaOf(fromRel);
  if (!from) return undefined;
  const isRelative = specifier.startsWith('.') || specifier.startsWith('/');
  const targetRel = isRelative ? relative(root, resolve(root, dirname(fromRel), specifier)).split(sep).join('/') : undefined;
  if (targetRel !== undefined && (targetRel.startsWith('..') || areaOf(targetRel) === undefined)) {
    return 'imports reach outside the project folders';
  }
  const fromPosix = fromRel.split(sep).join('/');

  if (targetRel !== undefined) {
    const rule = folderRuleFor(fromPosix);
    if (!rule) return undefined;
    const allowed = rule.allow.some((p) => (p.endsWith('**') ? matches(p, targetRel) : withoutExtension(p) === withoutExtension(targetRel)));
    return allowed ? undefined : `${rule.from} may import only ${rule.allow.join(', ')}; not ${targetRel}`;
  }

  const pkg = packageName(specifier);
  if (pkg === 'electron' && !fromPosix.startsWith('main/electron/')) return "only main/electron/ may import 'electron'";
  switch (from) {
    case 'common':
      if (NODE_BUILTINS.has(specifier)) return 'common/ may not import node modules';
      if (!ENVIRONMENT_FREE_PACKAGES.has(pkg)) return `common/ may only import environment-free packages, not '${pkg}'`;
      return undefined;
    case 'renderer':
      if (NODE_BUILTINS.has(specifier)) return 'renderer/ may not import node modules';
      if (!BROWSER_PACKAGES.has(pkg) && !BROWSER_PACKAGES.has(specifier)) return `renderer/ may only import browser packages, not '${pkg}'`;
      return undefined;
    case 'preload':
      if (NODE_BUILTINS.has(specifier)) return 'preload/ runs sandboxed and may not import node modules';
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
