// Waits for a condition by looking again every `pollMs` (never a fixed sleep): tests wait for
// what they need, and the round bench polls often enough not to blur its timings.
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition', pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
