/**
 * A reader for the subset of YAML our example files use (docker-compose, Kubernetes manifests,
 * Prometheus rule files): block mappings, block sequences, plain / single- / double-quoted
 * scalars, flow sequences of scalars (`["CMD", "wget"]`), literal and folded block scalars
 * (`|`, `|-`, `>`, `>-`), comments and `---` document separators.
 *
 * Why not a YAML library: `js-yaml` sits in node_modules only as a transitive dependency of eslint
 * and istanbul (not declared by this package), and tests must not lean on that. Anything outside
 * the subset (anchors, tags, flow mappings, multi-line plain scalars) throws with the line number,
 * so an example file that outgrows the reader fails its test instead of being misread.
 */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  number: number;
}

class SubsetParser {
  private index = 0;

  constructor(
    private readonly raw: string[],
    private readonly firstLine: number,
  ) {}

  parseDocument(): YamlValue {
    const first = this.peek();
    if (!first) return null;
    const value = this.parseBlock(first.indent);
    const rest = this.peek();
    if (rest) this.fail(rest.number, `unexpected "${rest.text}" (indentation?)`);
    return value;
  }

  /** The next line with content (comment-only and blank lines skipped), not consumed. */
  private peek(): Line | undefined {
    while (this.index < this.raw.length) {
      const text = this.raw[this.index];
      const trimmed = text.trim();
      if (trimmed === '' || trimmed.startsWith('#')) {
        this.index++;
        continue;
      }
      if (/^\t/.test(text)) this.fail(this.firstLine + this.index, 'tabs are not YAML indentation');
      const indent = text.length - text.trimStart().length;
      return { indent, text: trimmed, number: this.firstLine + this.index };
    }
    return undefined;
  }

  private parseBlock(indent: number): YamlValue {
    const line = this.peek()!;
    return line.text === '-' || line.text.startsWith('- ') ? this.parseSequence(indent) : this.parseMapping(indent);
  }

  private parseSequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (let line = this.peek(); line && line.indent === indent; line = this.peek()) {
      // A key at the sequence's indentation: the sequence was a value of the mapping it is in.
      if (!(line.text === '-' || line.text.startsWith('- '))) break;
      const rest = line.text.slice(1).trimStart();
      if (rest === '' || rest.startsWith('#')) {
        this.index++;
        const next = this.peek();
        items.push(next && next.indent > indent ? this.parseBlock(next.indent) : null);
      } else if (keyOf(rest) !== undefined) {
        // `- key: value` opens a mapping whose keys line up with `key`: re-read this line as
        // its first entry, indented past the dash.
        const column = indent + (line.text.length - rest.length);
        this.raw[this.index] = ' '.repeat(column) + rest;
        items.push(this.parseMapping(column));
      } else {
        this.index++;
        items.push(scalar(rest, line.number));
      }
    }
    return items;
  }

  private parseMapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    for (let line = this.peek(); line && line.indent === indent; line = this.peek()) {
      const entry = keyOf(line.text);
      if (!entry) this.fail(line.number, `expected "key: value", got "${line.text}"`);
      if (Object.hasOwn(map, entry.key)) this.fail(line.number, `duplicate key "${entry.key}"`);
      this.index++;
      const value = entry.rest.replace(/^#.*$/, '');
      if (/^[|>][-+]?$/.test(value)) {
        map[entry.key] = this.blockScalar(indent, value);
      } else if (value === '') {
        const next = this.peek();
        // A sequence may sit at the key's own indentation (`key:\n- a`), as compose files often do.
        const nested = next && (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')));
        map[entry.key] = nested ? this.parseBlock(next.indent) : null;
      } else {
        map[entry.key] = scalar(value, line.number);
      }
    }
    return map;
  }

  /** Lines more indented than the key, kept verbatim (`|`) or folded into one line (`>`). */
  private blockScalar(indent: number, header: string): string {
    const lines: string[] = [];
    let contentIndent: number | undefined;
    while (this.index < this.raw.length) {
      const text = this.raw[this.index];
      if (text.trim() === '') {
        lines.push('');
        this.index++;
        continue;
      }
      const lineIndent = text.length - text.trimStart().length;
      if (lineIndent <= indent) break;
      contentIndent ??= lineIndent;
      lines.push(text.slice(contentIndent));
      this.index++;
    }
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const body = header.startsWith('>') ? lines.join(' ').replace(/ {2,}/g, ' ') : lines.join('\n');
    return header.endsWith('-') ? body : `${body}\n`;
  }

  private fail(line: number, message: string): never {
    throw new Error(`YAML subset, line ${line}: ${message}`);
  }
}

/** `key: rest` (the colon followed by a space or the end of the line), or undefined. */
function keyOf(text: string): { key: string; rest: string } | undefined {
  let key: string;
  let after: number;
  if (text.startsWith('"') || text.startsWith("'")) {
    const close = text.indexOf(text[0], 1);
    if (close === -1 || text[close + 1] !== ':') return undefined;
    key = text.slice(1, close);
    after = close + 2;
  } else {
    const match = /:(\s|$)/.exec(text);
    if (!match || text.startsWith('[') || text.startsWith('{')) return undefined;
    key = text.slice(0, match.index).trimEnd();
    after = match.index + 1;
  }
  if (after < text.length && !/\s/.test(text[after])) return undefined;
  return { key, rest: text.slice(after).trim() };
}

/** A scalar or a flow sequence of scalars, with YAML 1.2 core types for plain scalars. */
function scalar(text: string, line: number): YamlValue {
  if (text.startsWith('[')) return flowSequence(text, line);
  if (text.startsWith('"')) {
    const end = closingQuote(text, 0);
    assertOnlyComment(text.slice(end + 1), line);
    return JSON.parse(text.slice(0, end + 1)) as string;
  }
  if (text.startsWith("'")) {
    const end = closingQuote(text, 0);
    assertOnlyComment(text.slice(end + 1), line);
    return text.slice(1, end).replace(/''/g, "'");
  }
  if (/^[&*!{]/.test(text)) throw new Error(`YAML subset, line ${line}: anchors, tags and flow mappings unsupported`);
  const plain = text.replace(/\s+#.*$/, '').trim();
  if (plain === 'true' || plain === 'false') return plain === 'true';
  if (plain === 'null' || plain === '~') return null;
  if (/^[-+]?(\d+|\d*\.\d+)([eE][-+]?\d+)?$/.test(plain)) return Number(plain);
  return plain;
}

function flowSequence(text: string, line: number): YamlValue[] {
  const items: YamlValue[] = [];
  let i = 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === ']') break;
    let end: number;
    if (text[i] === '"' || text[i] === "'") {
      end = closingQuote(text, i) + 1;
    } else {
      end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== ']') end++;
    }
    items.push(scalar(text.slice(i, end).trim(), line));
    i = end;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== ']') throw new Error(`YAML subset, line ${line}: bad flow sequence "${text}"`);
  }
  assertOnlyComment(text.slice(i + 1), line);
  return items;
}

/** Index of the quote closing the one at `start` (`\"` escapes in double quotes, `''` in single). */
function closingQuote(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  throw new Error(`YAML subset: unclosed quote in "${text}"`);
}

function assertOnlyComment(rest: string, line: number): void {
  if (rest.trim() !== '' && !/^\s+#/.test(rest)) {
    throw new Error(`YAML subset, line ${line}: unexpected "${rest.trim()}" after a quoted scalar`);
  }
}

/** Every document of `source` (`---` separates them); an empty document is left out. */
export function parseYamlDocuments(source: string): YamlValue[] {
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  const documents: YamlValue[] = [];
  let start = 0;
  for (let i = 0; i <= lines.length; i++) {
    if (i === lines.length || /^---\s*(#.*)?$/.test(lines[i])) {
      const document = new SubsetParser(lines.slice(start, i), start + 1).parseDocument();
      if (document !== null) documents.push(document);
      start = i + 1;
    }
  }
  return documents;
}

/** The one document of `source`. */
export function parseYaml(source: string): YamlValue {
  const documents = parseYamlDocuments(source);
  if (documents.length !== 1) throw new Error(`expected one YAML document, found ${documents.length}`);
  return documents[0];
}
