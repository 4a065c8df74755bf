/** The data pipeline: readers, preprocessing, augmentation, flip tables, RNG and the batch loader. */
export * from './types';
export { parsePts, readPts, formatPts, type PtsOptions } from './pts';
export { parseWflwList, WFLW_ATTRIBUTES } from './wflw';
export { parseJsonl } from './jsonl';
export {
  loadDataset,
  detectFormat,
  splitDataset,
  splitByIds,
  DATASET_FORMATS,
  IMAGE_EXTENSIONS,
  type Dataset,
  type DatasetFormat,
  type DatasetSpec,
  type LoadOptions,
  type SkippedEntry,
  type Split,
  type SplitOptions,
} from './dataset';
export {
  decodeImage,
  preprocessFace,
  preprocessFaceSync,
  cropRegion,
  cropTransform,
  landmarkBox,
  warpAffine,
  normalisePixels,
  applyAffine,
  invertAffine,
  composeAffine,
  transformPoints,
  landmarksToCrop,
  landmarksToSource,
  DEFAULT_MARGIN,
  type Affine,
  type CropOptions,
  type DecodeOptions,
  type ImageInput,
  type PreprocessOptions,
  type PreprocessedFace,
  type RawImage,
} from './image';
export {
  augmentSample,
  randomGeometry,
  photometric,
  resolveAugment,
  AUGMENT_DEFAULTS,
  AUGMENT_NONE,
  type AugmentOptions,
  type AugmentedSample,
  type ResolvedAugment,
} from './augment';
export { FLIP_68, FLIP_98, FLIP_29, flipPermutation, flipLandmarks, validateFlipPermutation, type FlipScheme } from './flip';
export { Rng, mixSeed, type RngState } from './rng';
export { DataLoader, type LoaderOptions, type LoaderStats } from './loader';
