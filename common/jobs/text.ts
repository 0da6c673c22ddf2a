// Researcher-written text on a consent card: characters that hide or reorder what the person reads
// (bidirectional overrides, zero-width and control characters) are shown as their code point, and
// names that mix alphabets (a Cyrillic "а" inside a Latin name) are flagged, so a card cannot say
// one thing and look like another.

/**
 * Control characters (tab and newline aside), bidirectional embeddings, overrides, isolates and
 * marks, zero-width characters, invisible operators, fillers and the soft hyphen, as code point
 * ranges (a regular expression of them would itself hold the characters it looks for).
 */
const HIDDEN_RANGES: readonly [number, number][] = [
  [0x00, 0x08],
  [0x0b, 0x1f],
  [0x7f, 0x9f],
  [0xad, 0xad],
  [0x34f, 0x34f],
  [0x61c, 0x61c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180e, 0x180e],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x206f],
  [0x3164, 0x3164],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff9, 0xfffb],
];

function isHidden(cp: number): boolean {
  return HIDDEN_RANGES.some(([a, b]) => cp >= a && cp <= b);
}

export interface RevealedText {
  text: string;
  /** Whether anything was hidden in the original. */
  revealed: boolean;
}

function codePoint(cp: number): string {
  return `[U+${cp.toString(16).toUpperCase().padStart(4, '0')}]`;
}

/**
 * The text with every hidden character written as its code point ("[U+202E]"); a single-line
 * text shows tabs and line breaks as spaces. At most `max` characters are kept, with an ellipsis.
 */
export function revealText(text: string, options: { multiline?: boolean; max?: number } = {}): RevealedText {
  let revealed = false;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isHidden(cp)) {
      revealed = true;
      out += codePoint(cp);
    } else if (!options.multiline && (cp === 0x09 || cp === 0x0a)) out += ' ';
    else out += ch;
  }
  const max = options.max ?? 2000;
  const chars = [...out];
  if (chars.length > max) out = `${chars.slice(0, max - 1).join('')}…`;
  return { text: out, revealed };
}

/** Whether the text holds a character revealText would show as a code point. */
export function hasHiddenCharacters(text: string): boolean {
  for (const ch of text) if (isHidden(ch.codePointAt(0)!)) return true;
  return false;
}

const SCRIPTS: [string, RegExp][] = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
];

/**
 * The alphabets a text mixes among those whose letters look alike (Latin, Cyrillic, Greek,
 * Armenian, Cherokee); empty when it uses at most one of them.
 */
export function mixedScripts(text: string): string[] {
  const found = SCRIPTS.filter(([, re]) => re.test(text)).map(([name]) => name);
  return found.length > 1 ? found : [];
}
