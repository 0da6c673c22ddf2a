// The Electron IPC binding: the router answers the app's own page only, and session events reach
// the window. Electron is replaced by a double; the session and router are the real ones.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({ BrowserWindow: class {}, protocol: {}, session: {} }));

const { bindIpc } = await import('../../../main/electron/ipc.js');
const { EVENT_CHANNEL, INVOKE_CHANNEL } = await import('../../../main/electron/channels.js');
const { harness, PASSPHRASE } = await import('../ipc/helpers.js');

type Handler = (event: { senderFrame: { url: string } | null }, channel: unknown, request: unknown) => unknown;

let h: Awaited<ReturnType<typeof harness>>;
let handlers: Map<string, Handler>;
let sent: unknown[][];
let unbind: () => void;

beforeEach(async () => {
  h = await harness();
  handlers = new Map();
  sent = [];
  const ipcMain = { handle: (ch: string, fn: Handler) => handlers.set(ch, fn), removeHandler: (ch: string) => handlers.delete(ch) };
  const contents = { isDestroyed: () => false, send: (...args: unknown[]) => sent.push(args) };
  unbind = bindIpc(ipcMain as never, h.router, h.session, () => contents as never);
});

afterEach(async () => {
  unbind();
  await h.close();
});

describe('Electron IPC binding', () => {
  it('routes requests from the app page to the router', async () => {
    const invoke = handlers.get(INVOKE_CHANNEL)!;
    const r = await invoke({ senderFrame: { url: 'app://trove/index.html' } }, 'vault.create', { passphrase: PASSPHRASE });
    expect(r).toMatchObject({ ok: true, value: { vault: 'unlocked' } });
  });

  it('refuses frames that are not the app page, without touching the vault', async () => {
    const invoke = handlers.get(INVOKE_CHANNEL)!;
    for (const url of ['https://example.com/', 'file:///tmp/x.html', 'app://evil/index.html', 'about:blank']) {
      expect(await invoke({ senderFrame: { url } }, 'vault.create', { passphrase: PASSPHRASE })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL' } });
    }
    expect(await invoke({ senderFrame: null }, 'app.status', {})).toMatchObject({ ok: false });
    expect(h.session.status().vault).toBe('none');
  });

  it('sends session events to the window and stops when unbound', async () => {
    await h.call('vault.create', { passphrase: PASSPHRASE });
    h.session.lock();
    expect(sent.map(([ch, name]) => [ch, name])).toEqual([
      [EVENT_CHANNEL, 'vault.state'],
      [EVENT_CHANNEL, 'vault.state'],
    ]);
    expect(sent[1]![2]).toMatchObject({ status: { vault: 'locked' }, reason: 'manual' });
    unbind();
    expect(handlers.has(INVOKE_CHANNEL)).toBe(false);
  });
});
