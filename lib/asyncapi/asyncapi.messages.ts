/** User-facing texts of `nest-realtime/asyncapi`, each saying how to fix what it reports. */
export const Texts = {
  sameClassName: (name: string) =>
    `AsyncAPI: two different classes named ${name} carry class-validator metadata, and payload ` +
    `schemas are named by class (class-validator-jsonschema): rename one of them.`,
  noRealtimeModule: () =>
    'AsyncAPI: the application has no RealtimeModule (RealtimeModule.forRoot() or forRootAsync() ' +
    'in its root module); there are no message handlers to document.',
  badSetupPath: (path: string) =>
    `RealtimeAsyncApiModule.setup('${path}'): the path is the route without its extension, ` +
    `e.g. 'asyncapi' serves /asyncapi.json and /asyncapi.yaml.`,
  badFileExtension: (file: string) =>
    `writeAsyncApiDocument('${file}'): the file name must end with .json, .yaml or .yml.`,
} as const;
