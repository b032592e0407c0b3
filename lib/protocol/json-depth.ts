const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * Characters of a string read one by one before the rest is skipped with `indexOf`: most JSON
 * strings (keys, ids) are shorter, and a call costs more than reading them; a long string (a
 * message's content) is then skipped by a native scan.
 */
const SHORT_STRING = 16;

/**
 * True when the JSON text nests objects/arrays deeper than `maxDepth` (a top-level object is
 * depth 1). Runs on the raw text before `JSON.parse`, so a frame like `[[[[…]]]]` is refused
 * before anything (the parser, validators, `JSON.stringify` of a reply) recurses into it.
 *
 * One pass without allocation, cheaper than the `JSON.parse` that follows: a fraction of a
 * microsecond for a chat message, about 1% of the parse for a large string payload (skipped
 * with `indexOf`). Invalid JSON may be measured wrongly; `JSON.parse` refuses it anyway.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  // Each level needs a bracket: a text this short cannot be too deep.
  if (text.length <= maxDepth) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i + 1);
      if (i === -1) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * Index of the quote that ends the string whose contents start at `from`, or -1 if it never ends.
 * Reads a few characters by hand, then jumps to the next quote with `indexOf`; a quote found
 * escaped (`\"`) means escapes are about, so the next stretch read by hand doubles: text made of
 * `\"\"\"…` costs about what plain characters do instead of one `indexOf` call per quote.
 */
function endOfString(text: string, from: number): number {
  const length = text.length;
  let i = from;
  for (let byHand = SHORT_STRING; ; byHand *= 2) {
    const handEnd = Math.min(length, i + byHand);
    for (; i < handEnd; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) return i;
      if (c === BACKSLASH) i++;
    }
    if (i >= length) return -1;
    const quote = text.indexOf('"', i);
    if (quote === -1) return -1;
    // Escaped when preceded by an odd run of backslashes (`\"` but not `\\"`).
    let backslashes = 0;
    for (let j = quote - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if ((backslashes & 1) === 0) return quote;
    i = quote + 1;
  }
}
