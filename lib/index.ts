/** acr-loss: the public surface. */
export * from './errors';
export { info, setNumThreads, setIsa } from './info';
export type { NativeInfo, AcrInfo } from './info';
// ---- loss family ----
export { acrLoss, acrLossComposite } from './loss';
export type { AcrLossOpOptions } from './loss';
export { l1Loss, l2Loss, smoothL1Loss, wingLoss, softWingLoss, adaptiveWingLoss } from './losses';
export type { BaselineOptions, SmoothL1Options, WingOptions, SoftWingOptions, AdaptiveWingOptions } from './losses';
export type { Reduction, AcrConstant, AcrParams, AcrLossOptions, BaseLossOptions, LossResult, LossDevice } from './kernels/loss';
// ---- end loss family ----
export * as data from './data';
export * as evaluation from './eval';
export {
  useNativeKernels, nativeKernelsEnabled, nativeKernelStats, resetNativeKernelStats, NATIVE_KERNEL_NAMES,
} from './tfjs/native-kernels';
export type { NativeKernelStats } from './tfjs/native-kernels';
// ---- asm family ----
export { fitAsm, AsmModel, schedule, DEFAULT_VARIANCE_LEVELS, REFERENCE_SCHEDULE, REFERENCE_EPOCHS } from './asm';
export type { FitAsmOptions, AsmShapeOptions, AsmPhiOptions, AsmModelJSON, AsmModelFields, ShapesInput, TensorLike } from './asm';
export type { AsmBasis, AsmDevice } from './kernels/asm';
// ---- end asm family ----
// ---- model / train family ----
export { mobileNetV2, mobileNetV2Backbone, mobileNetV1, tinyCnn, buildModel, ARCHITECTURES, INITS } from './model';
export type { MobileNetV2Options, MobileNetV1Options, InitName, TinyCnnOptions, ModelSpec, Architecture } from './model';
export { saveModel, loadModel, folderSaver, folderLoader } from './tfjs/io';
export {
  train, resolveTrainConfig, DEFAULT_TRAIN_CONFIG, LOSS_NAMES, LR_SCHEDULES, PHI_MODES, learningRate, loadCheckpoint, saveCheckpoint, checkpointPath,
} from './train';
export type { TrainConfig, TrainHooks, TrainResult, TrainStatus, EpochLog, TrainData, TrainSet, TrainDeps, LossFn, FittedAsm, PhiTable, TrainState, LossName, LrScheduleName, PhiMode } from './train';
export { lossFunction } from './train/loss-fn';
export { openDataset, cropTargets } from './train/folder-data';
export { predictRecords, modelInputSize } from './train/predict';
export type { PredictOptions as RecordPredictOptions, Predictions } from './train/predict';
// ---- end model / train family ----
// ---- onnx family ----
export { exportOnnx, toOnnx } from './onnx/export';
export type { ExportOptions } from './onnx/export';
export { Predictor } from './onnx/predictor';
export type { LoadOptions, PredictOptions, PredictItem, PredictImage, FacePrediction } from './onnx/predictor';
export type { LandmarkModelMetadata } from './onnx/metadata';
export { detectFaces } from './onnx/detect';
export type { DetectedFace, DetectOptions } from './onnx/detect';
export { writeOverlay } from './onnx/overlay';
export type { OverlayFace } from './onnx/overlay';
export { modelCard, modelCardFromRun, LICENCE_300W } from './onnx/model-card';
export type { ModelCardInput, ModelCardMetric, RunCardOptions } from './onnx/model-card';
export { PRETRAINED_NAME, pretrainedModelPath } from './onnx/pretrained';
// ---- end onnx family ----
export * as kernels from './kernels';
