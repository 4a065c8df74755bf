/** Evaluation: NME / FR / AUC / CED metrics, CED plots and report files. */
export {
  nmePerImage,
  normalisingDistances,
  resolveNormaliser,
  failureRate,
  aucAt,
  cedCurve,
  evaluate,
  summarise,
  subsetSummaries,
  INTER_OCULAR,
  INTER_PUPIL,
  type CedCurve,
  type EvaluateOptions,
  type Evaluation,
  type EvaluationSummary,
  type Normaliser,
  type NormaliserKind,
} from './metrics';
export { cedSvg, cedPng, type CedRun, type CedPlotOptions } from './plot';
export { perImageCsv, overlayPng, writeEvaluationReport, type PerImageRow, type OverlayFace, type OverlayOptions, type ReportOptions, type ReportResult } from './report';
export { smoothFaceDistance, yawProxy, hardestIndices, subsetMean, YAW_POINTS_68 } from './hard';
