import { stringify } from 'yaml';
import type { AsyncApiDocument } from './asyncapi-document.js';

/** The document as JSON text (two-space indented, a final newline: a file a repository diffs well). */
export function documentToJson(document: AsyncApiDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * The document as YAML. Schemas shared by several messages are written out each time rather than
 * as YAML anchors and aliases, which some AsyncAPI tools do not read; no line is folded, so a
 * changed description is a one-line diff.
 */
export function documentToYaml(document: AsyncApiDocument): string {
  return stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 });
}
