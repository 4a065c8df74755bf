/** acr-loss: the public surface. */
export * from './errors';
export { info, setNumThreads, setIsa } from './info';
export type { NativeInfo } from './info';
export * as data from './data';
export * as evaluation from './eval';
