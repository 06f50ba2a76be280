/** Reading what a training job printed: the GPU environment line and tagged JSON results. */
import { MARKERS } from './sbatch.ts';

export interface GpuEnv {
  cudaVisibleDevices?: string;
  slurmJobGpus?: string;
  /** Device ids in CUDA_VISIBLE_DEVICES (empty when unset). */
  devices: string[];
}

/** Parses the `MLV_GPU_ENV ...` line every rendered job script prints. */
export function gpuEnv(output: string): GpuEnv {
  const line = output.split('\n').find((l) => l.startsWith(MARKERS.gpuEnv));
  const kv = Object.fromEntries((line ?? '').split(' ').slice(1).map((p) => p.split('=', 2) as [string, string]));
  const val = (k: string) => (kv[k] && kv[k] !== 'unset' ? kv[k] : undefined);
  const cvd = val('CUDA_VISIBLE_DEVICES');
  return { cudaVisibleDevices: cvd, slurmJobGpus: val('SLURM_JOB_GPUS'), devices: cvd ? cvd.split(',').filter(Boolean) : [] };
}
