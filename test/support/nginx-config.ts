/**
 * An nginx configuration read into its directives: `name args;` and `name args { ... }` blocks,
 * with `#` comments and quoted arguments. Enough to check an example file's settings; nginx's
 * own `nginx -t` is not on the test machines.
 */
export interface NginxDirective {
  name: string;
  args: string[];
  /** The block's directives; undefined for a simple directive. */
  block?: NginxDirective[];
  line: number;
}

function tokenize(source: string): { token: string; line: number; quoted: boolean }[] {
  const tokens: { token: string; line: number; quoted: boolean }[] = [];
  let line = 1;
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    if (char === '\n') line++;
    if (/\s/.test(char)) {
      i++;
    } else if (char === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (char === '{' || char === '}' || char === ';') {
      tokens.push({ token: char, line, quoted: false });
      i++;
    } else if (char === '"' || char === "'") {
      let end = i + 1;
      while (end < source.length && source[end] !== char) end += source[end] === '\\' ? 2 : 1;
      if (end >= source.length) throw new Error(`nginx config, line ${line}: unclosed quote`);
      tokens.push({ token: source.slice(i + 1, end), line, quoted: true });
      i = end + 1;
    } else {
      let end = i;
      while (end < source.length && !/[\s{};]/.test(source[end])) end++;
      tokens.push({ token: source.slice(i, end), line, quoted: false });
      i = end;
    }
  }
  return tokens;
}

export function parseNginxConfig(source: string): NginxDirective[] {
  const tokens = tokenize(source);
  let position = 0;
  const readBlock = (nested: boolean): NginxDirective[] => {
    const directives: NginxDirective[] = [];
    while (position < tokens.length) {
      const first = tokens[position];
      if (!first.quoted && first.token === '}') {
        if (!nested) throw new Error(`nginx config, line ${first.line}: unexpected "}"`);
        position++;
        return directives;
      }
      const args: string[] = [];
      position++;
      for (;;) {
        const next = tokens[position++];
        if (!next) throw new Error(`nginx config, line ${first.line}: "${first.token}" is not terminated`);
        if (!next.quoted && next.token === ';') {
          directives.push({ name: first.token, args, line: first.line });
          break;
        }
        if (!next.quoted && next.token === '{') {
          directives.push({ name: first.token, args, block: readBlock(true), line: first.line });
          break;
        }
        if (!next.quoted && next.token === '}') throw new Error(`nginx config, line ${next.line}: missing ";"`);
        args.push(next.token);
      }
    }
    if (nested) throw new Error('nginx config: a block is not closed');
    return directives;
  };
  return readBlock(false);
}

/** Directives named `name` directly in `block`. */
export function directives(block: NginxDirective[], name: string): NginxDirective[] {
  return block.filter((directive) => directive.name === name);
}

/** The one block directive `name` (with `args`, when given) in `block`; throws when absent. */
export function blockOf(block: NginxDirective[], name: string, ...args: string[]): NginxDirective[] {
  const found = block.filter(
    (directive) => directive.name === name && directive.block && args.every((arg, i) => directive.args[i] === arg),
  );
  if (found.length !== 1)
    throw new Error(`expected one "${[name, ...args].join(' ')} { }" block, found ${found.length}`);
  return found[0].block!;
}

/** nginx time (`90`, `90s`, `2m`, `1h`, `500ms`) in seconds. */
export function nginxSeconds(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  if (!match) throw new Error(`not an nginx time: "${value}"`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] ?? 's']!;
  return Number(match[1]) * unit;
}
