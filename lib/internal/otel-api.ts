/**
 * The seam to `@opentelemetry/api`, an optional peer dependency: an app that traces has it
 * installed (every OpenTelemetry SDK depends on it), an app that does not pays nothing — not even
 * a failed `import` per message, as the package is looked for once, the first time tracing is
 * set up, and never again.
 *
 * Loaded with `require` (through `createRequire`) rather than `import()`, because it must be
 * known synchronously when the module's services are built; the API is CommonJS for Node, so
 * this is the same module instance an app's `import '@opentelemetry/api'` gets. Even a second
 * copy of the API (a nested install) would see the same SDK: the API keeps what is registered on
 * a global symbol shared by every compatible copy.
 *
 * What it relies on beyond the documented API (pinned by `test/unit/internal/otel-api.spec.ts`):
 * `trace.getTracerProvider()` is the API's `ProxyTracerProvider`, whose `getDelegate()` returns
 * one shared no-op provider until `trace.setGlobalTracerProvider()` gives it the SDK's. That is
 * how "an SDK is registered" is told apart from "only the API is installed", in two property
 * reads, without starting a span.
 */
import { createRequire } from 'node:module';
import type * as Api from '@opentelemetry/api';

/** The `@opentelemetry/api` module. */
export type OtelApi = typeof Api;

const PACKAGE = '@opentelemetry/api';

/**
 * `@opentelemetry/api` if it can be loaded, `undefined` if it is not installed. Any other failure
 * (an install that is there but broken) is thrown: tracing silently off would hide it.
 */
export function loadOtelApi(load: (id: string) => unknown = createRequire(import.meta.url)): OtelApi | undefined {
  try {
    return load(PACKAGE) as OtelApi;
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    // Only the package itself missing: a dependency missing inside it names another module.
    if (code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${PACKAGE}'`)) {
      return undefined;
    }
    throw error;
  }
}

let loaded: { api: OtelApi | undefined } | undefined;

/** {@link loadOtelApi}, once per process. */
export function otelApi(): OtelApi | undefined {
  return (loaded ??= { api: loadOtelApi() }).api;
}

/** A ProxyTracerProvider's view of its delegate (a public method, absent from other providers). */
interface Delegating {
  getDelegate?(): Api.TracerProvider;
}

/** Tells whether an OpenTelemetry SDK registered a tracer provider, and which. */
export class RegisteredTracerProvider {
  /** The API's no-op provider: what a ProxyTracerProvider delegates to until an SDK registers. */
  private readonly noop: Api.TracerProvider;

  constructor(private readonly api: OtelApi) {
    this.noop = new api.ProxyTracerProvider().getDelegate();
  }

  /**
   * The provider registered with `trace.setGlobalTracerProvider()`, or `undefined` while none is
   * (then spans would be no-ops). Asked on every message, so that an SDK registered after the
   * app started, or replaced (`trace.disable()` then another), is followed.
   */
  current(): Api.TracerProvider | undefined {
    const global = this.api.trace.getTracerProvider();
    const getDelegate = (global as Delegating).getDelegate;
    // Not the API's proxy: a provider put in the global slot by other means is taken as is.
    if (typeof getDelegate !== 'function') return global;
    const delegate = getDelegate.call(global);
    return delegate === this.noop ? undefined : delegate;
  }
}
