/**
 * Keys of the document's messages and operations for message types. A type may contain `:`,
 * which a component key may not (`^[\w.-]+$`): it becomes `_`, and should two types of one
 * direction meet on one key (`a:b` and `a_b`), the later one gets a `-2`, `-3`, … suffix. The
 * message's `name` keeps the real type.
 */
export class MessageKeys {
  private readonly byType = new Map<string, string>();
  private readonly taken = new Set<string>();

  of(type: string): string {
    let key = this.byType.get(type);
    if (key !== undefined) return key;
    const base = type.replace(/[^\w.-]/g, '_');
    key = base;
    for (let n = 2; this.taken.has(key); n++) key = `${base}-${n}`;
    this.byType.set(type, key);
    this.taken.add(key);
    return key;
  }
}
