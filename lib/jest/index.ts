/**
 * `nest-realtime/jest`: for an app's Jest config (it runs in Node, before the tests). Imports
 * nothing from Nest or from the module itself.
 */
export { jestModuleNameMapper, type JestModuleNameMapperOptions } from './jest-module-name-mapper.js';
