// When a device sends its masked update. Sent as soon as the stage opens, the time would follow
// the device's own pace; sent at a uniformly random moment of the stage's first part (drawn from
// the cryptographic random source), it says nothing about how long training took or how many
// rows it read, and does not line up with the device's other requests.

/** The share of the masked-input stage a device spreads its upload over (the rest is margin). */
export const UPLOAD_SPREAD_SHARE = 0.25;

/** A delay uniform over [0, spreadMs) from 32 random bits. */
export function uploadDelayMs(spreadMs: number, random: (bytes: number) => Uint8Array): number {
  if (!(spreadMs > 0)) return 0;
  const b = random(4);
  const u = (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0;
  return Math.floor((spreadMs * u) / 2 ** 32);
}
