// A recording double of the parts of Electron the main process uses, so its modules load and can be
// checked under plain Node (no Electron binary is needed). Tests mock 'electron' with this module
// and read what was recorded from `state`, or set what powerMonitor answers.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
export type Fn = (...args: never[]) => unknown;
export const state = {
  windows: [] as { options: Record<string, unknown>; contents: FakeContents; loaded: string | null }[],
  protocolHandler: null as null | ((req: { url: string }) => Promise<Response>),
  privileged: [] as unknown[],
  permissionRequest: null as null | Fn,
  permissionCheck: null as null | Fn,
  headersReceived: null as null | Fn,
  beforeRequest: null as null | Fn,
};
export class FakeContents {
  readonly listeners = new Map<string, Fn>();
  openHandler: null | ((d: { url: string }) => unknown) = null;
  setWindowOpenHandler(fn: (d: { url: string }) => unknown) {
    this.openHandler = fn;
  }
  on(event: string, fn: Fn) {
    this.listeners.set(event, fn);
    return this;
  }
  /** Fires an event the way Electron does, returning whether the default was prevented. */
  fire(event: string, ...args: unknown[]): boolean {
    let prevented = false;
    const e = { preventDefault: () => (prevented = true) };
    (this.listeners.get(event) as ((...a: unknown[]) => void) | undefined)?.(e, ...args);
    return prevented;
  }
}
export class BrowserWindow {
  readonly webContents = new FakeContents();
  private readonly record: (typeof state.windows)[number];
  constructor(options: Record<string, unknown>) {
    this.record = { options, contents: this.webContents, loaded: null };
    state.windows.push(this.record);
  }
  once() {}
  show() {}
  loadURL(url: string) {
    this.record.loaded = url;
    return Promise.resolve();
  }
}

export const protocol = {
  registerSchemesAsPrivileged: (schemes: unknown[]) => state.privileged.push(...schemes),
  handle: (_scheme: string, fn: (req: { url: string }) => Promise<Response>) => (state.protocolHandler = fn),
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler: (fn: never) => (state.permissionRequest = fn),
    setPermissionCheckHandler: (fn: never) => (state.permissionCheck = fn),
    webRequest: {
      onHeadersReceived: (fn: never) => (state.headersReceived = fn),
      onBeforeRequest: (fn: never) => (state.beforeRequest = fn),
    },
  },
};

/** What powerMonitor answers; a function that throws stands for a platform that cannot tell. */
export const power = {
  onBattery: (): boolean => false,
  idleSeconds: (): number => 0,
};

export const powerMonitor = {
  isOnBatteryPower: (): boolean => power.onBattery(),
  get onBatteryPower(): boolean {
    return power.onBattery();
  },
  getSystemIdleTime: (): number => power.idleSeconds(),
};

/**
 * utilityProcess on a real Node child: the module runs in its own process with the memory limit
 * and environment it was given, and sees `process.parentPort` as a utility process does (a small
 * preload maps it onto the child's IPC channel). Only the message port is emulated.
 */
export class FakeUtilityProcess extends EventEmitter {
  readonly stderr: NodeJS.ReadableStream | null;
  constructor(private readonly child: ChildProcess) {
    super();
    this.stderr = child.stderr;
    child.on('message', (m) => this.emit('message', m));
    child.on('error', () => undefined);
    // A utility process reports an exit code only; a killed one reports a non-zero code.
    child.on('close', (code) => this.emit('exit', code ?? 1));
  }
  get pid(): number | undefined {
    return this.child.pid;
  }
  postMessage(message: unknown): void {
    if (this.child.connected) this.child.send(message as never);
  }
  kill(): boolean {
    return this.child.kill('SIGKILL');
  }
}

export const forkedUtilities: { modulePath: string; options: { execArgv?: string[]; stdio?: unknown; serviceName?: string; env?: NodeJS.ProcessEnv } }[] = [];

export const utilityProcess = {
  fork(modulePath: string, args: string[] = [], options: { execArgv?: string[]; stdio?: unknown; serviceName?: string; env?: NodeJS.ProcessEnv } = {}): FakeUtilityProcess {
    forkedUtilities.push({ modulePath, options });
    const parentPort = fileURLToPath(new URL('./utility-parent-port.mjs', import.meta.url));
    const child = fork(modulePath, args, {
      execArgv: [...(options.execArgv ?? []), '--import', pathToFileURL(parentPort).href],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: options.env ?? process.env,
    });
    return new FakeUtilityProcess(child);
  },
};

/**
 * The OS keychain's encryption as safeStorage offers it: a keyed, authenticated transform whose key
 * stays in this process (the real one lives in the OS keychain). `available` can be turned off.
 */
export const keychain = { available: true, key: Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex') };
export const safeStorage = {
  isEncryptionAvailable: () => keychain.available,
  encryptString(text: string): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', keychain.key, iv);
    const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]);
  },
  decryptString(blob: Buffer): string {
    const d = createDecipheriv('aes-256-gcm', keychain.key, blob.subarray(0, 12));
    d.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([d.update(blob.subarray(28)), d.final()]).toString('utf8');
  },
};
