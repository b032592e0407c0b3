/** Types of `public-api.mjs` (a plain script so that `npm run api:update` needs no compiler step). */
export interface EntryApi {
  values: string[];
  types: string[];
}
export type PublicApi = Record<string, EntryApi>;
export const ENTRY_POINTS: Record<string, string>;
export const REPORT_FILE: string;
export function listPublicApi(): PublicApi;
