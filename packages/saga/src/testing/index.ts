/**
 * `@switchyard/saga/testing`: contract suites for the package's ports, built on `node:test`.
 *
 * @packageDocumentation
 */
export {};
