/// <reference types="@webgpu/types" />
// Finding a GPU for training through WebGPU. The `webgpu` package (Dawn for Node) is an optional
// dependency: it reaches Vulkan, Metal and D3D12 drivers of any vendor, without CUDA. Every way
// this can fail (package missing, no adapter, a software adapter, no device) is an answer with a
// reason, never an exception, so backend selection can report it and move on.
//
// Runs only on the GPU thread (gpu-thread.ts): Dawn for Node crashes the process when the thread
// that holds a device blocks for more than a few milliseconds (which training on the CPU does), or
// when a timer is pending while it waits.

export interface GpuFound {
  ok: true;
  device: GPUDevice;
  /** What the adapter says it is: "vendor architecture (description)". */
  adapterName: string;
  /** A CPU implementation of WebGPU (SwiftShader, WARP): correct, but slower than the CPU kernel. */
  software: boolean;
}

export type GpuLookup = GpuFound | { ok: false; reason: string };

export interface DawnOptions {
  /** Accept an adapter that is a CPU implementation (tests, the benchmark). Default false. */
  allowSoftware?: boolean;
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let dawn: DawnModule | undefined;
/**
 * The one Dawn instance of this thread, held for as long as the thread lives: when the garbage
 * collector frees the instance, the devices it made keep running on freed memory and the process
 * dies at the next submit or map (seen as a segfault or a pthread assertion after some
 * allocation-heavy work, never in small self-tests).
 */
let gpu: GPU | undefined;

async function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    const mod = (await import('webgpu')) as unknown as DawnModule;
    // GPUBufferUsage, GPUMapMode and friends are globals in a browser; Dawn hands them over.
    for (const [name, value] of Object.entries(mod.globals)) {
      if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
    }
    dawn = mod;
  }
  return dawn;
}

export function describeAdapter(info: GPUAdapterInfo): string {
  const name = [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown GPU';
  return info.description ? `${name} (${info.description})` : name;
}

/** Opens the system's GPU through Dawn. */
export async function openGpu(options: DawnOptions = {}): Promise<GpuLookup> {
  {
    let mod: DawnModule;
    try {
      mod = await loadDawn();
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const missing = e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND';
      return { ok: false, reason: missing ? 'the webgpu package is not installed' : `the webgpu package failed to load (${(e?.message ?? String(err)).split('\n')[0]})` };
    }
    // No timeouts here (a pending timer crashes Dawn for Node while it waits): the caller's
    // watchdog, on another thread, covers a driver that never answers.
    try {
      gpu ??= mod.create([]);
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) return { ok: false, reason: 'no GPU adapter found' };
      const adapterName = describeAdapter(adapter.info);
      const software = adapter.info.isFallbackAdapter === true;
      if (software && !options.allowSoftware) return { ok: false, reason: `only a software adapter (${adapterName}), slower than the CPU kernel` };
      const device = await adapter.requestDevice();
      return { ok: true, device, adapterName, software };
    } catch (err) {
      return { ok: false, reason: `the GPU could not be opened (${(err as Error).message})` };
    }
  }
}
