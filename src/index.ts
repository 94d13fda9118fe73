/**
 * bnn-edge as a library (Node, ESM + types). The pipeline, in order:
 *   data → model / train → format → runtime → attacks / eval
 * `bnn-edge/runtime` (src/runtime) is the dependency-free part that ships to devices; this entry
 * adds training, the tfjs graph rebuilt from a .bnn, and the attack harness (they load tfjs).
 */
export * from './data/index.js';
export * from './model/graph.js';
export * from './model/build.js';
export * from './model/presets.js';
export { initParams, checkParams, paramInfos, floatParamCount, type ParamValues, type ParamInfo } from './model/params.js';
export { batchNormAffine, evalChain, searchThreshold, searchThresholds, type ChainOp, type ChannelThreshold, type ThresholdDomain } from './model/threshold.js';
export { DeployedGraph } from './model/tfjs/deployed.js';
export { TrainableModel } from './model/tfjs/trainable.js';
export { widenParams, WIDEN_SHARE_SPREAD } from './model/widen.js';
export { accuracy, predictLabels, type LogitsFn } from './model/tfjs/predict.js';
export { initTfjs, useTfjsBackend, type TfjsBackendName } from './tfjs/backend.js';
export { train, ResumeError, TRAIN_DEFAULTS, type TrainOptions, type AdversarialTraining } from './train/train.js';
export type { CardinalityBoundDecay } from './train/shard.js';
export { saveCheckpoint, loadCheckpoint, CorruptCheckpointError, type Checkpoint, type TrainingRecord, type EpochRecord, type TrainingState } from './train/checkpoint.js';
export { parseBnn, type ParseOptions } from './format/read.js';
export { readModelFile, readBnnFile } from './format/file.js';
export { serializeBnn } from './format/write.js';
export { modelFromParams, paramsFromModel, withInt8, layerTensorPlan, type BnnModel, type LayerTensors, type ExportOptions } from './format/model.js';
export { BnnFormatError, BnnFileError, type BnnFormatErrorCode, type BnnFileErrorCode } from './format/errors.js';
export { describeModel, type ModelInfo, type LayerInfo } from './format/info.js';
export { packSigns, unpackSigns, packConvSigns, unpackConvSigns } from './format/bits.js';
export { Rng } from './util/rng.js';
export { FileReadError, readBoundedFile } from './util/fs.js';
export * from './runtime/index.js';
export { BnnPool, type PoolOptions } from './runtime/pool.js';
export { RuntimeOracle, LogitsOracle, CountedOracle, QueryBudgetExceeded, type Oracle, type DifferentiableModel, type ModelShape } from './attacks/model.js';
export { fgsm, pgd, carliniWagnerL2, meanSuccessfulL2, CW_PAPER, CW_STRONG, type AttackOutcome, type CommonOptions, type LinfOptions, type CwOptions } from './attacks/whitebox.js';
export { attackLoss, ATTACK_LOSSES, type AttackLoss } from './attacks/loss.js';
export { trainSubstitute, SubstituteMlp, SUBSTITUTE_ROUNDS, type SubstituteOptions, type SubstituteTraining } from './attacks/substitute.js';
export { hopSkipJump, l2AtBudget, type HsjOptions, type HsjTrace } from './attacks/hopskipjump.js';
export { evaluateParity, type ParityReport } from './eval/parity.js';
export { replay, type ReplayResult } from './eval/replay.js';
export {
  whiteboxEval, blackboxEval, hsjEval, saturatedFraction, WHITEBOX_ATTACKS, CRAFT_LABELS, type CraftLabels,
  type WhiteboxAttack, type WhiteboxOptions, type WhiteboxRow, type WhiteboxReport, type BlackboxReport, type HsjReport,
} from './eval/attacks.js';
export { transferMatrix, type TransferOptions, type TransferReport } from './eval/transfer.js';
export { runDemo, listModels, type DemoRow, type DemoOptions, type DemoData } from './eval/demo.js';
export { saveAdversarial, npyFloat32, pairGridPng, type SaveOptions, type SavedRun } from './eval/save.js';
export { accuracyPlotSvg, type AccuracyPlot, type AccuracyCurve } from './eval/plot.js';
export { Repro, keyName, type ReproConfig, type ModelKey, type ReproResults } from './eval/repro.js';
export { ModelIdentityError } from './eval/repro_identity.js';
export { renderReproduction } from './eval/repro_doc/index.js';
export { paperCells, compareCells, bandCount, type PaperCell, type PaperTable, type BandCount, type TableComparison } from './eval/repro_compare.js';
export { plateauChart, PLATEAU_UNITS, type PlateauAttack } from './eval/plateau.js';
export { classifyFiles, type Classification, type ClassScore, type ClassifyOptions } from './eval/classify.js';
export { readImageAs, IMAGE_FITS, IMAGE_LIMITS, type ImageFit, type ReadImageOptions } from './data/resize.js';
export {
  toLayersModel, fromLayersModel, saveLayersModel, loadLayersModelFrom, importLayersModel, InterchangeError, MODEL_JSON, WEIGHTS_BIN,
  QuantConv2D, QuantDense, Scale, registerBnnLayers, type ImportOptions,
} from './model/tfjs/interchange.js';
// The AutoAttack family (APGD, FAB, Square, the ensemble's per-image worst case on the runtime).
export { apgd, apgdTargeted, apgdCheckpoints, type ApgdOptions, type ApgdOutcome } from './attacks/apgd.js';
export { fab, projectLinfHyperplane, type FabOptions, type FabOutcome } from './attacks/fab.js';
export { squareAttack, squareShare, RuntimeScoreOracle, CountedScoreOracle, type ScoreOracle, type SquareOptions, type SquareOutcome } from './attacks/square.js';
export { runEnsemble, AUTOATTACK_STANDARD, ENSEMBLE_ATTACKS, type EnsembleAttack, type EnsembleMode, type EnsembleOptions, type EnsembleOutcome, type MemberOutcome, type EnsembleCheckpoint } from './attacks/auto.js';
export { exactLinfBox, type ExactBox } from './attacks/box.js';
export { dlrLoss, targetedDlrLoss } from './attacks/loss.js';
export { AUTO_FAMILY, ATTACKS, budgetCurve, type AutoFamilyAttack, type MemberRow } from './eval/attacks.js';
// Robustness verification: sound bounds over the .bnn's exact semantics, counterexamples replayed on the runtime.
export * from './verify/index.js';
