/** acr-loss: the public surface. */
export * from './errors';
export { info, setNumThreads, setIsa } from './info';
export type { NativeInfo } from './info';
export { fitAsm, AsmModel, schedule, DEFAULT_VARIANCE_LEVELS } from './asm';
export type { FitAsmOptions, AsmShapeOptions, AsmPhiOptions, AsmModelJSON, ShapesInput } from './asm';
