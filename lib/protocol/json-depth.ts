const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * True when the JSON text nests objects/arrays deeper than `maxDepth` (a top-level object is
 * depth 1). Runs on the raw text before `JSON.parse`, so a frame like `[[[[…]]]]` is refused
 * before anything (the parser, validators, `JSON.stringify` of a reply) recurses into it.
 *
 * One pass without allocation: string contents are skipped with `indexOf('"')` (a native scan),
 * so a large string payload costs about as much as a `memchr`. Invalid JSON may be measured
 * wrongly; `JSON.parse` refuses it anyway.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  // Each level needs a bracket: a text this short cannot be too deep (the common small frame).
  if (text.length <= maxDepth) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i === -1) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** Index of the quote that ends the string opened at `open`, or -1 if it never ends. */
function closingQuote(text: string, open: number): number {
  let i = open;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i === -1) return -1;
    // Escaped when preceded by an odd run of backslashes (`\"` but not `\\"`).
    let backslashes = 0;
    for (let j = i - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if ((backslashes & 1) === 0) return i;
  }
}
