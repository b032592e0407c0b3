/** One `@OnMessage` binding found at bootstrap: message type → method of a provider instance. */
export interface MessageHandlerDefinition {
  type: string;
  /** `type` of the reply frame built from the return value. */
  reply: string;
  /** Later messages of the connection may start before this handler completes (opt-in). */
  concurrent: boolean;
  instance: object;
  methodName: string;
  /** `ClassName.methodName`, for messages. */
  label: string;
  /** A built-in handler yields to an application handler of the same type. */
  builtin: boolean;
}
