// A recording double of the parts of Electron the main process uses, so its modules load and can be
// checked under plain Node (no Electron binary is needed). Tests mock 'electron' with this module
// and read what was recorded from `state`, or set what powerMonitor answers.
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
