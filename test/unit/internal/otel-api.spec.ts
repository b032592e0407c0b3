import { afterEach, describe, expect, it } from '@jest/globals';
import * as api from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { loadOtelApi, otelApi, RegisteredTracerProvider } from '../../../lib/internal/otel-api.js';

/**
 * Pins the seam to the optional `@opentelemetry/api` (lib/internal/otel-api.ts): loaded when
 * installed, `undefined` when not, and the one thing beyond its documented API it relies on —
 * that an SDK registered through `trace.setGlobalTracerProvider()` is told apart from none
 * (the API's proxy provider delegating to its shared no-op one).
 */
describe('@opentelemetry/api seam (lib/internal/otel-api.ts)', () => {
  afterEach(() => api.trace.disable());

  it('loads the installed API: the instance the app imports, with the globals it registers', () => {
    const loaded = loadOtelApi();
    expect(loaded).toBeDefined();
    expect(otelApi()).toBe(otelApi());
    const provider = new BasicTracerProvider();
    api.trace.setGlobalTracerProvider(provider);
    expect(new RegisteredTracerProvider(loaded!).current()).toBe(provider);
  });

  it('is undefined when the package is not installed, without loading anything else', () => {
    const asked: string[] = [];
    const missing = (id: string): never => {
      asked.push(id);
      throw Object.assign(new Error(`Cannot find module '${id}'\nRequire stack:\n- /app/x.js`), {
        code: 'MODULE_NOT_FOUND',
      });
    };
    expect(loadOtelApi(missing)).toBeUndefined();
    expect(asked).toEqual(['@opentelemetry/api']);
  });

  it('throws what is not the package missing (a broken install is not taken for no tracing)', () => {
    const brokenInside = () => {
      throw Object.assign(new Error("Cannot find module './trace/NoopTracer'"), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => loadOtelApi(brokenInside)).toThrow('./trace/NoopTracer');
    const failing = () => {
      throw new SyntaxError('Unexpected token');
    };
    expect(() => loadOtelApi(failing)).toThrow(SyntaxError);
  });

  it('tells an SDK registered from none, and follows it being replaced or removed', () => {
    const registered = new RegisteredTracerProvider(api);
    // The API alone: its proxy delegates to the no-op provider.
    expect(registered.current()).toBeUndefined();
    const first = new BasicTracerProvider();
    expect(api.trace.setGlobalTracerProvider(first)).toBe(true);
    expect(registered.current()).toBe(first);
    api.trace.disable();
    expect(registered.current()).toBeUndefined();
    const second = new BasicTracerProvider();
    api.trace.setGlobalTracerProvider(second);
    expect(registered.current()).toBe(second);
  });
});
