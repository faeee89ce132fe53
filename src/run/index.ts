/** sacl-au/run: the runs the commands start, callable from code (docs/training.md, "Runs from code"). */
export { trainRun, evaluateRun, openWithProgress, withOptions, type TrainRequest, type EvaluateRequest } from './train.js';
export { trainAndEvaluate, evaluateInto, DEFAULT_CHECKPOINT_EVERY, type RunResult } from './pipeline.js';
export { demoRun, DEMO_DATA, DEMO_TRAINING } from './demo.js';
export { reproduce, tableRows, TABLES, type ReproduceArgs, type TableNumber, type TableSummary } from './reproduce.js';
export { runPredict, expandInputs, type PredictRunOptions, type PredictRunSummary } from './predict.js';
export { PAPER_TRAINING, type CheckpointInfo, type TrainOptions } from '../train/trainer.js';
