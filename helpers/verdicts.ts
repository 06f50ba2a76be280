/**
 * Pure verdicts for the checks training tasks repeat: was the allocated GPU really used,
 * did data-parallel ranks stay in sync and share the work evenly. Each returns a pass flag
 * and a detail line, or the reason the check does not apply to this target.
 */
import type { GpuEnv } from './job-output.ts';

export type Verdict = { pass: boolean; detail: string } | { notApplicable: string };
export type GpuKind = 'nvidia' | 'fake';

/** What a workload reported about its device. */
export interface DeviceReport {
  device: string;
  cuda_available?: boolean;
  cuda_device_count?: number;
}

/** What data-parallel ranks reported. */
export interface RankFacts {
  rank: number;
  device: string;
  backend: string;
  steps?: number;
  samples?: number;
  param_checksum?: number;
}

const standIn = (target: string) => ({ notApplicable: `target "${target}" declares stand-in GPUs (MLV_GPU_KIND=fake): training runs on the CPU, so CUDA use cannot be checked` });
function cudaIndex(device: string): number | undefined {
  const m = /^cuda:(\d+)$/.exec(device);
  return m ? Number(m[1]) : undefined;
}

/** Training ran on CUDA, with as many CUDA devices visible as GRES allocated. */
export function ranOnGpu(kind: GpuKind, target: string, m: DeviceReport, allocated: number): Verdict {
  if (kind === 'fake') return standIn(target);
  const count = m.cuda_device_count ?? 0;
  const seen = `torch reported device=${m.device}, cuda_available=${m.cuda_available ?? '?'}, ${count} CUDA device(s) for ${allocated} allocated`;
  if (!m.device.startsWith('cuda')) return { pass: false, detail: `GPU allocated, but training ran on CPU: ${seen}` };
  return { pass: count === allocated, detail: count === allocated ? seen : `training ran on CUDA but ${seen}` };
}

/** The CUDA device the workload opened maps to one of the devices SLURM allocated. */
export function openedAllocatedDevice(kind: GpuKind, target: string, m: DeviceReport, env: GpuEnv): Verdict {
  if (kind === 'fake') return standIn(target);
  const k = cudaIndex(m.device);
  const physical = k === undefined ? undefined : env.devices[k];
  if (physical === undefined) return { pass: false, detail: `the workload opened ${m.device}, which is not one of CUDA_VISIBLE_DEVICES=${env.cudaVisibleDevices ?? 'unset'}` };
  return { pass: true, detail: `${m.device} is CUDA_VISIBLE_DEVICES[${k}] = GPU ${physical} (allocated: ${env.devices.join(',')})` };
}

/** On real GPUs, every rank trained on CUDA with the NCCL backend. */
export function ncclOnGpus(kind: GpuKind, target: string, ranks: RankFacts[]): Verdict {
  if (kind === 'fake') return { notApplicable: `target "${target}" declares stand-in GPUs (MLV_GPU_KIND=fake): the ranks use gloo on the CPU` };
  const bad = ranks.filter((r) => r.backend !== 'nccl' || !r.device.startsWith('cuda'));
  const all = ranks.map((r) => `${r.rank}:${r.backend}/${r.device}`).join(', ') || 'no rank reported';
  return { pass: ranks.length > 0 && bad.length === 0, detail: bad.length ? `not NCCL on CUDA: ${bad.map((r) => `rank ${r.rank} ${r.backend}/${r.device}`).join(', ')}` : all };
}

const missing = (ranks: RankFacts[], world: number) => ({ notApplicable: `only ${ranks.length} of ${world} rank(s) reported (see "every rank initialised and reported")` });

/** Every rank ends with the same parameters (their float64 sum, to a relative 1e-9). */
export function ranksInSync(ranks: RankFacts[], world: number): Verdict {
  if (ranks.length < world || world < 2) return missing(ranks, world);
  const shown = ranks.map((r) => `${r.rank}:${r.param_checksum ?? 'none'}`).join(', ');
  const first = ranks[0]?.param_checksum;
  if (first === undefined || ranks.some((r) => r.param_checksum === undefined)) return { pass: false, detail: `a rank reported no parameter checksum: ${shown}` };
  const same = ranks.every((r) => Math.abs((r.param_checksum ?? NaN) - first) <= 1e-9 * Math.max(1, Math.abs(first)));
  return { pass: same, detail: `${same ? 'identical' : 'DIVERGED'} parameter checksums per rank: ${shown}` };
}

/** Every rank took the same number of optimizer steps, and together they covered the training set. */
export function evenShards(ranks: RankFacts[], world: number, trainSamples: number, epochs: number): Verdict {
  if (ranks.length < world) return missing(ranks, world);
  const steps = ranks.map((r) => r.steps);
  const total = ranks.reduce((a, r) => a + (r.samples ?? 0), 0);
  const equal = steps.every((s) => s !== undefined && s === steps[0]);
  const covered = total >= trainSamples * epochs;
  const shown = `steps per rank: ${ranks.map((r) => `${r.rank}:${r.steps ?? 'none'}`).join(', ')}; ${total} samples over ${epochs} epoch(s) of ${trainSamples}`;
  return { pass: equal && covered, detail: equal && covered ? shown : `uneven or incomplete shards: ${shown}` };
}
