/**
 * The metric names a PromQL expression selects, for checking dashboards and alert rules against
 * what `/metrics` exposes. A small tokenizer rather than a PromQL parser: a metric name is an
 * identifier that is not a function or aggregation (followed by `(`), not a keyword or operator,
 * and not inside a label matcher `{...}`, a range or subquery `[...]`, a grouping label list
 * (`by (le)`, `on (instance)`), a string, or a Grafana variable (`$__rate_interval`, `${node}`).
 */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan', 'start', 'end']);
/** Keywords followed by a parenthesized list of label names, not of expressions. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** `by (...)` / `without (...)` right after a name: the name is an aggregation, not a metric. */
const AGGREGATION_MODIFIER = /^(by|without)\s*\(/i;

const IDENTIFIER = /[A-Za-z_:][A-Za-z0-9_:]*/y;
const NUMBER_OR_DURATION = /(0x[0-9a-fA-F]+|[0-9][0-9.eE_a-zA-Z]*)/y;

export function metricNamesIn(expression: string): Set<string> {
  const names = new Set<string>();
  let i = 0;
  const skipSpaces = () => {
    while (i < expression.length && /\s/.test(expression[i])) i++;
  };
  while (i < expression.length) {
    const char = expression[i];
    if (char === '"' || char === "'" || char === '`') {
      i = afterString(expression, i);
    } else if (char === '{' || char === '[') {
      i = afterBracket(expression, i);
    } else if (char === '$') {
      // Grafana variables: ${name}, ${name:format} or $name.
      i++;
      if (expression[i] === '{') i = afterBracket(expression, i);
      else while (i < expression.length && /[A-Za-z0-9_]/.test(expression[i])) i++;
    } else if (/[0-9]/.test(char)) {
      NUMBER_OR_DURATION.lastIndex = i;
      NUMBER_OR_DURATION.exec(expression);
      i = NUMBER_OR_DURATION.lastIndex;
    } else if (/[A-Za-z_:]/.test(char)) {
      IDENTIFIER.lastIndex = i;
      const word = IDENTIFIER.exec(expression)![0];
      i = IDENTIFIER.lastIndex;
      skipSpaces();
      const lower = word.toLowerCase();
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (expression[i] === '(') i = afterBracket(expression, i);
      } else if (expression[i] === '(' || KEYWORDS.has(lower) || AGGREGATION_MODIFIER.test(expression.slice(i))) {
        // A function or aggregation (its arguments are read as the loop goes on; `sum by (le) (`
        // puts the grouping first), or a keyword.
      } else {
        names.add(word);
      }
    } else {
      i++;
    }
  }
  return names;
}

/** Index after the string literal opening at `start`. */
function afterString(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\' && quote !== '`') i++;
    else if (text[i] === quote) return i + 1;
  }
  throw new Error(`unclosed string in PromQL: ${text}`);
}

/** Index after the bracket opening at `start` and its match (strings inside taken into account). */
function afterBracket(text: string, start: number): number {
  const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
  const stack = [pairs[text[start]]];
  let i = start + 1;
  while (i < text.length && stack.length > 0) {
    const char = text[i];
    if (char === '"' || char === "'" || char === '`') {
      i = afterString(text, i);
      continue;
    }
    if (pairs[char]) stack.push(pairs[char]);
    else if (char === stack[stack.length - 1]) stack.pop();
    i++;
  }
  if (stack.length > 0) throw new Error(`unbalanced brackets in PromQL: ${text}`);
  return i;
}

/**
 * Metric families of a Prometheus text exposition (`# TYPE` lines), with their type; a sample
 * name `x_bucket` / `x_sum` / `x_count` resolves to the histogram or summary `x`.
 */
export function metricFamilies(exposition: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(match[1], match[2]);
  return families;
}

/** The family a selected name belongs to, or undefined when the exposition has none. */
export function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name;
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (suffix) {
    const type = families.get(suffix[1]);
    if (type === 'histogram' || (type === 'summary' && suffix[2] !== 'bucket')) return suffix[1];
  }
  return undefined;
}
