// What a command printed with console.log while it ran, as one string (the command's own output).
import { vi } from 'vitest';

export async function printed(run: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}
