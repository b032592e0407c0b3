/**
 * User-facing texts of start-up errors and logs, one place so that each says how to fix it.
 */
export const Messages = {
  invalidOption: (option: string, problem: string) =>
    `RealtimeModule option "${option}" ${problem}. Fix it in RealtimeModule.forRoot()/forRootAsync().`,
  duplicateHandler: (type: string, first: string, second: string) =>
    `Two @OnMessage('${type}') handlers: ${first} and ${second}. A message type is routed to ` +
    `exactly one handler; remove one, or switch the built-in off with the "builtins" option.`,
  requestScopedHandler: (handler: string) =>
    `${handler} is request- or transient-scoped; @OnMessage handlers must live in singleton ` +
    `providers (inject request-scoped services through ModuleRef.resolve() inside the handler).`,
  noHttpServer: () =>
    'RealtimeModule found no HTTP server (an application context without an HTTP adapter); ' +
    'the WebSocket endpoint is not started.',
  bareModuleImport: () =>
    'RealtimeModule was imported without options (the bare class, e.g. in a feature module). ' +
    'Import RealtimeModule.forRoot() or forRootAsync() once, in the root module: it is global, ' +
    'so feature modules inject RoomManager and the other services without importing anything ' +
    '(with isGlobal: false, re-export that one import from a shared module instead).',
  pathClaimed: (path: string) =>
    `WebSocket upgrades for ${path} are already claimed on this HTTP server (a second ` +
    `RealtimeModule on the same path?); give each endpoint its own "path".`,
  handlerFailed: (type: string) => `Handler for message type "${type}" threw`,
} as const;
