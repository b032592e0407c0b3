export * from './close-codes.js';
export * from './codec.js';
export * from './envelope.js';
export * from './error-codes.js';
export * from './message-types.js';
