/**
 * `nest-realtime/testing`: e2e helpers for apps that use the module, on top of
 * `@nestjs/testing` (an optional peer dependency, needed only here).
 */
export { connectTestClient, realtimeUrl, type TestClientOptions } from './connect-test-client.js';
export { createRealtimeTestingApp, type RealtimeTestingApp } from './realtime-testing-app.js';
export { RealtimeTestClient, type ExpectMessageOptions } from './realtime-test-client.js';
export { signTestToken, TestTokenUnavailableError, type TestUser } from './test-token.js';
