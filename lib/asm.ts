/** Active Shape Model: fitAsm, AsmModel (Smooth-Face, Phi, JSON) and the variance schedule. */
export { fitAsm, AsmModel, DEFAULT_VARIANCE_LEVELS } from './asm/model';
export type { FitAsmOptions, AsmShapeOptions, AsmPhiOptions, AsmModelJSON, AsmModelFields } from './asm/model';
export { schedule, REFERENCE_SCHEDULE, REFERENCE_EPOCHS } from './asm/schedule';
export type { ShapesInput, TensorLike } from './asm/shapes';
