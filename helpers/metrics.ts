/** Schemas for what the workloads write (`metrics.json`) and print (`MLV_RANK`, `MLV_RESULT`), and error lines in their logs. */
import { z } from 'zod';

const ratio = z.number().min(0).max(1);

export const TrainingMetricsSchema = z
  .object({
    epochs: z.array(z.number().int().positive()).min(1),
    loss: z.array(z.number().nonnegative()),
    accuracy: z.array(ratio),
    test_accuracy: ratio,
    training_time_seconds: z.number().positive(),
    device: z.string().regex(/^(cpu|cuda(:\d+)?)$/),
    cuda_visible_devices: z.string().nullable(),
    cuda_available: z.boolean().optional(),
    cuda_device_count: z.number().int().nonnegative().optional(),
    train_samples: z.number().int().nonnegative().optional(),
    torch_version: z.string().optional(),
    hostname: z.string().optional(),
  })
  .passthrough()
  .refine((m) => m.loss.length === m.epochs.length && m.accuracy.length === m.epochs.length, {
    message: 'epochs, loss and accuracy must have one entry per epoch',
  });
export type TrainingMetrics = z.infer<typeof TrainingMetricsSchema>;

export const DdpMetricsSchema = z
  .object({
    world_size: z.number().int().positive(),
    backend: z.enum(['gloo', 'nccl']),
    samples_per_second: z.number().positive(),
  })
  .passthrough()
  .and(TrainingMetricsSchema);

export const RankReportSchema = z
  .object({
    rank: z.number().int().nonnegative(),
    world_size: z.number().int().positive(),
    local_rank: z.number().int().nonnegative(),
    device: z.string(),
    hostname: z.string(),
    cuda_visible_devices: z.string().nullable(),
    samples_per_second: z.number().nonnegative(),
    backend: z.enum(['gloo', 'nccl']),
    steps: z.number().int().nonnegative().optional(),
    samples: z.number().int().nonnegative().optional(),
    /** Float64 sum of every parameter after training: equal on every rank when DDP kept them in sync. */
    param_checksum: z.number().optional(),
  })
  .passthrough();
export type RankReport = z.infer<typeof RankReportSchema>;

/** Lines that betray a CUDA / NCCL / gloo failure in a job log. */
export const ERROR_PATTERNS: Record<'cuda' | 'nccl' | 'gloo' | 'oom' | 'traceback', RegExp> = {
  cuda: /CUDA error|cudaError|CUBLAS_STATUS_|CUDNN_STATUS_|device-side assert|no CUDA-capable device|CUDA driver version is insufficient/i,
  nccl: /NCCL (?:error|WARN)|ncclInternalError|ncclSystemError|ncclUnhandledCudaError|NCCL timeout/i,
  gloo: /Gloo connectFullMesh failed|\[gloo\b[^\]]*\].*(?:error|failed)|gloo.*Connection (?:closed|refused)|ProcessGroupGloo.*(?:error|failed)/i,
  oom: /CUDA out of memory|OutOfMemoryError|oom-kill|Killed process|oom_kill/i,
  traceback: /^(?:\[[^\]]*\]:|\d+: )?Traceback \(most recent call last\):/m,
};

export function findErrorLines(log: string, kinds: (keyof typeof ERROR_PATTERNS)[]): string[] {
  return log.split('\n').filter((line) => kinds.some((k) => ERROR_PATTERNS[k].test(line)));
}
