// The two Electron IPC channels everything travels over: one invoke channel (the contract's
// channel name is the first argument) and one event channel.
export const INVOKE_CHANNEL = 'trove:invoke';
export const EVENT_CHANNEL = 'trove:event';
