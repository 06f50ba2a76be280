/**
 * What an Oumi training run leaves behind, parsed (pure): the HF `trainer_state.json` Oumi writes in
 * its output dir, Oumi's `metrics_rank0000.jsonl`, the trainer's `{'loss': ...}` log lines (a fallback
 * when the files are missing), `telemetry/world_size.json`; and the decision that the loss went down.
 */
import { z } from 'zod';
import { evaluate, type Threshold } from './references.ts';

export interface LossPoint {
  step: number;
  loss: number;
}

export interface TrainerState {
  globalStep: number;
  epoch: number;
  loss: LossPoint[];
  /** The trainer's summary entry: train_runtime (s) and mean train_loss, when training ended normally. */
  trainRuntimeSeconds?: number;
  trainLoss?: number;
}

const LogEntry = z.object({ step: z.number().int().nonnegative(), loss: z.number().optional(), train_runtime: z.number().optional(), train_loss: z.number().optional() }).passthrough();
const TrainerStateSchema = z.object({ global_step: z.number().int().nonnegative(), epoch: z.number().nullable().optional(), log_history: z.array(LogEntry) }).passthrough();

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not JSON: ${(e as Error).message}`);
  }
}

/** `<output_dir>/trainer_state.json` (transformers' TrainerState.save_to_json). */
export function parseTrainerState(text: string): TrainerState {
  const r = TrainerStateSchema.safeParse(parseJson(text, 'trainer_state.json'));
  if (!r.success) throw new Error(`trainer_state.json: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const s = r.data;
  const summary = s.log_history.find((e) => e.train_runtime !== undefined);
  return {
    globalStep: s.global_step,
    epoch: s.epoch ?? 0,
    loss: s.log_history.filter((e) => e.loss !== undefined).map((e) => ({ step: e.step, loss: e.loss! })),
    trainRuntimeSeconds: summary?.train_runtime,
    trainLoss: summary?.train_loss,
  };
}

/** `<output_dir>/metrics_rank0000.jsonl`: Oumi's own copy of each logged step. */
export function parseOumiMetrics(text: string): LossPoint[] {
  const out: LossPoint[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = LogEntry.safeParse(parseJson(line, 'a metrics_rank line'));
    if (m.success && m.data.loss !== undefined) out.push({ step: m.data.step, loss: m.data.loss });
  }
  return out;
}

const NUM = String.raw`'?(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)'?`;
const LOSS_LINE = new RegExp(String.raw`\{'loss': ${NUM}[^{}]*\}`, 'g');
const STEP = /'step': '?(\d+)'?/;

/**
 * The trainer's log lines in a job's output: `{'loss': '5.697', ..., 'step': 1}` (transformers 5
 * prints the values as strings, 4.x as numbers), one per logging step, inside tqdm's `\r` updates.
 * Without 'step' the line's order is its step. A step printed twice (one line per rank) counts once.
 */
export function parseTrainingLog(log: string): LossPoint[] {
  const byStep = new Map<number, number>();
  let order = 0;
  for (const m of log.matchAll(LOSS_LINE)) {
    const s = STEP.exec(m[0]);
    const step = s ? Number(s[1]) : ++order;
    if (s) order = step;
    if (!byStep.has(step)) byStep.set(step, Number(m[1]));
  }
  return [...byStep].map(([step, loss]) => ({ step, loss })).sort((a, b) => a.step - b.step);
}

/** `<output_dir>/telemetry/world_size.json`: {"WORLD_SIZE": n, "LOCAL_WORLD_SIZE": n}. */
export function parseWorldSize(text: string): { worldSize: number; localWorldSize: number } {
  const w = z.object({ WORLD_SIZE: z.number().int().positive(), LOCAL_WORLD_SIZE: z.number().int().positive() }).parse(parseJson(text, 'world_size.json'));
  return { worldSize: w.WORLD_SIZE, localWorldSize: w.LOCAL_WORLD_SIZE };
}

export interface LossDecision {
  pass: boolean;
  /** mean(last window) / mean(first window). */
  ratio: number;
  firstMean: number;
  lastMean: number;
  window: number;
  points: number;
  message: string;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Did the loss go down? The mean of the last `window` logged losses over the mean of the first
 * `window`, against the reference (e.g. loss_ratio <= 0.9). Windows, not single steps: one batch's
 * loss is noisy. The default window is a quarter of the points; the two windows never overlap.
 */
export function lossDecision(points: LossPoint[], t: Threshold, window?: number): LossDecision {
  const losses = points.map((p) => p.loss);
  const w = Math.min(window ?? Math.max(1, Math.floor(losses.length / 4)), Math.floor(losses.length / 2));
  if (w < 1 || losses.some((l) => !Number.isFinite(l))) {
    const why = w < 1 ? `${losses.length} logged loss value(s): at least 2 are needed (set training.logging_steps lower)` : `a loss is not finite (${losses.join(', ')})`;
    return { pass: false, ratio: NaN, firstMean: NaN, lastMean: NaN, window: w, points: losses.length, message: `loss decreased: FAILED, ${why}` };
  }
  const firstMean = mean(losses.slice(0, w));
  const lastMean = mean(losses.slice(-w));
  const v = evaluate('loss_ratio', lastMean / firstMean, t);
  const f = (n: number) => Number(n.toPrecision(4));
  return {
    pass: v.pass,
    ratio: v.value,
    firstMean,
    lastMean,
    window: w,
    points: losses.length,
    message: `${v.message}; mean loss of the first ${w} logged steps ${f(firstMean)}, of the last ${w} ${f(lastMean)} (${losses.length} steps)`,
  };
}

/** The loss series for a chart: steps on x (helpers/charts.ts lineChart). */
export const lossSeries = (name: string, points: LossPoint[]) => ({ name, points: points.map((p) => ({ x: p.step, y: p.loss })) });

/** The mean of the last quarter of the logged losses (lossDecision's last window): a run's final loss. */
export function finalLoss(points: LossPoint[]): number {
  const w = Math.max(1, Math.floor(points.length / 4));
  return points.length ? mean(points.slice(-w).map((p) => p.loss)) : NaN;
}

/** Throughput speedup of a data-parallel run over a 1-process run: samples per second, over samples per second. */
export function throughputSpeedup(base: { samples: number; trainSeconds?: number }, ddp: { samples: number; trainSeconds?: number }): number {
  if (!base.trainSeconds || !ddp.trainSeconds) return NaN;
  return ddp.samples / ddp.trainSeconds / (base.samples / base.trainSeconds);
}
