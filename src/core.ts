/**
 * The portable core: everything here runs in Node and in browsers (onnxruntime-web), with files
 * reached through the FileSystem interface and the onnxruntime module injected into Runtime.
 */
export { Graph, Value, GraphShapeError, type DType } from './graph/graph.js';
export * as ops from './graph/ops.js';
export { gradients } from './graph/autodiff.js';
export { Runtime, CompiledGraph, type OrtModule, type RuntimeOptions, type HostArray } from './graph/runtime.js';
export { bucketLength, padAxis, trimAxis } from './graph/length-buckets.js';
export type { FileSystem, RandomAccessFile } from './io/file-system.js';
export type { HostTensor, WeightSource } from './formats/weights.js';
export { openSafetensors, openSafetensorsCheckpoint, serializeSafetensors, writeSafetensors } from './formats/safetensors.js';
export { openLlama2cCheckpoint } from './formats/llama2c.js';
export { readTorchStateDict, serializeTorchStateDict } from './formats/torch-pickle.js';
export type { Tokenizer } from './tokenizers/tokenizer.js';
export { LanguageModel, type ForwardResult, type ModelGraph } from './models/language-model.js';
export { loadModelFrom } from './models/load-model.js';
export { ExtraInputs, type BlockRef, type BlockSites, type ForwardEdits, type ForwardOptions } from './models/interventions.js';
export { supportedModelTypes } from './models/registry.js';
export type { ModelConfig } from './models/model-config.js';
export type { Batch } from './models/position-inputs.js';
export { LogitLens, TunedLens, lensLogProbs, lensLogits, lensLayerLogits, type Lens, type LensLayerOptions, type LensParameter, type Translator } from './lens/lens.js';
export {
  reduceLensRows, CompiledRows, compileHiddenStates, computeHiddenStates, selectPositions, stackedLensLogits, scatterBlock, allRows, lensRows, blockPositions,
  type RowReduction, type RowBlock, type RowRef, type HiddenStates, type BlockWindow,
} from './lens/rows.js';
export { readLensFolder, writeLensFolder, parseLensConfig, type TunedLensConfig } from './lens/lens-files.js';
export { computeTrajectory, type TrajectoryData, type TrajectoryOptions } from './trajectory/compute.js';
export { PredictionTrajectory, type StatisticName, type TrajectoryStatistic } from './trajectory/prediction-trajectory.js';
export { TokenFormatter } from './trajectory/token-formatter.js';
export { readDataset } from './data/documents.js';
export { chunkAndTokenize, prepareChunks, natsToBpb } from './data/chunking.js';
export { trainLens, type TrainConfig, type StepReport } from './train/trainer.js';
export { evaluateLenses, type EvalResult, type MetricsLayout } from './eval/evaluate.js';
export { buildHeatmapOption } from './viz/heatmap-chart.js';
export { trajectoryHeatmap, type ToHeatmapOptions } from './viz/trajectory-heatmap.js';
export type { HeatmapData } from './viz/heatmap-data.js';
// Applications of prediction trajectories (paper §5): injection detection, prediction depth, difficulty, overthinking.
export { layerLogProbsAt } from './applications/layer-log-probs.js';
export { auroc, rocCurve, bootstrapAuroc, type RocPoint } from './applications/roc.js';
export { fitIsolationForest, isolationForestScore, averagePathLength } from './applications/isolation-forest.js';
export { fitLof, lofScore } from './applications/lof.js';
export { fitPca, pcaTransform } from './applications/pca.js';
export { injectionFeatures, fitDetectors, scoreDetectors, splitNormal, evaluateScores } from './applications/injection.js';
export { predictionDepth, tokenPredictionDepths } from './applications/depth.js';
export { scoreChoices } from './applications/choices.js';
export { spearman, iterationLearned, choiceDepths } from './applications/difficulty.js';
export { overthinking, calibratedAccuracy, falseDemos, fewShotPrompt } from './applications/overthinking.js';
export { buildLineChart, type LineChartSpec } from './viz/line-chart.js';
export { renderTokenDepthHtml, renderTokenDepthSvg } from './viz/token-depth-figure.js';
