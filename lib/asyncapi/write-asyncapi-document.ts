import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { AsyncApiDocument } from './asyncapi-document.js';
import { Texts } from './asyncapi.messages.js';
import { documentToJson, documentToYaml } from './document-text.js';

/**
 * Writes `document` to `file`, as JSON (`.json`) or YAML (`.yaml`, `.yml`), creating its folder:
 * for a script that keeps the document in the app's repository, where a review sees every
 * change to the WebSocket API as a diff.
 */
export async function writeAsyncApiDocument(document: AsyncApiDocument, file: string): Promise<void> {
  const extension = extname(file).toLowerCase();
  let text: string;
  if (extension === '.json') text = documentToJson(document);
  else if (extension === '.yaml' || extension === '.yml') text = documentToYaml(document);
  else throw new Error(Texts.badFileExtension(file));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}
