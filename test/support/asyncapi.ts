import { DiagnosticSeverity, Parser, type AsyncAPIDocumentInterface, type Diagnostic } from '@asyncapi/parser';

export interface AsyncApiValidation {
  /** The parsed document (undefined when it has errors). */
  document: AsyncAPIDocumentInterface | undefined;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** Parses and validates an AsyncAPI document (JSON or YAML text) with the official parser. */
export async function validateAsyncApi(text: string): Promise<AsyncApiValidation> {
  const { document, diagnostics } = await new Parser().parse(text);
  return {
    document,
    errors: diagnostics.filter((diagnostic) => diagnostic.severity === DiagnosticSeverity.Error),
    warnings: diagnostics.filter((diagnostic) => diagnostic.severity === DiagnosticSeverity.Warning),
  };
}

/** A diagnostic as one readable line, for an assertion's message. */
export const describeDiagnostic = ({ code, message, path }: Diagnostic): string =>
  `${String(code)} at ${path.join('/')}: ${message}`;
