// The renderer's security rules, shared by the desktop window and the headless host so that both
// run the page under the same policy.
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

/** Only the app's own scripts, styles and images; no inline script, no network, no frames. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * A file of the built renderer with the headers it is served under (its type, the CSP, no
 * sniffing), or null for a path outside `root` or a file that is not there.
 */
export async function rendererFile(root: string, pathname: string): Promise<{ body: Buffer<ArrayBuffer>; headers: Record<string, string> } | null> {
  const base = normalize(root);
  const file = normalize(join(base, decodeURIComponent(pathname === '/' ? '/index.html' : pathname)));
  if (!file.startsWith(base + sep)) return null;
  try {
    const body = await readFile(file);
    const headers = {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
    };
    return { body, headers };
  } catch {
    return null;
  }
}
