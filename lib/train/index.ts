export { train } from './loop';
export type { EpochLog, TrainHooks, TrainResult, TrainStatus } from './loop';
export { DEFAULT_TRAIN_CONFIG, LOSS_NAMES, LR_SCHEDULES, PHI_MODES, resolveTrainConfig } from './config';
export type { LossName, LrScheduleName, PhiMode, TrainConfig } from './config';
export type { TrainData, TrainSet } from './data';
export type { FittedAsm, LossFn, PhiTable, TrainDeps } from './deps';
export { learningRate } from './lr';
export { loadCheckpoint, saveCheckpoint, checkpointPath } from './checkpoint';
export type { TrainState } from './checkpoint';
