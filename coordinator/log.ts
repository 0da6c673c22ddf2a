// The coordinator's log: one JSON object per line on stderr (time, level, event, fields), so an
// operator can filter and count events across several coordinator processes. Nothing secret is
// logged: no keys, no messages, no updates; only ids, stages, counts and error messages.
export type LogLevel = 'info' | 'warn' | 'error';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export type Logger = (level: LogLevel, event: string, fields?: LogFields) => void;

export function jsonLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  return (level, event, fields = {}) => write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
}

/** A log that passes on only what needs someone's attention (warnings and errors): for a coordinator embedded in another program's output. */
export function attentionOnly(log: Logger = jsonLogger()): Logger {
  return (level, event, fields) => {
    if (level !== 'info') log(level, event, fields);
  };
}

/** The message of anything thrown, for a log line. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
