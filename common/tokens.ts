// Token amounts as people read them, for every place that shows one (the app, the demo).

/**
 * A token amount given in its smallest unit (a decimal string) as a person reads it: whole
 * units with thousands separators, then only the decimals that are not zero. Exact, because
 * BigInt does the splitting, however many decimals the token has.
 */
export function formatTokenAmount(smallest: string, decimals: number, symbol?: string): string {
  const digits = /^[0-9]+$/.test(smallest) ? BigInt(smallest) : 0n;
  const scale = 10n ** BigInt(decimals);
  const whole = digits / scale;
  const fraction = decimals > 0 ? (digits % scale).toString().padStart(decimals, '0').replace(/0+$/, '') : '';
  const text = `${whole.toLocaleString('en')}${fraction ? `.${fraction}` : ''}`;
  return symbol ? `${text} ${symbol}` : text;
}
