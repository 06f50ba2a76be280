/**
 * The job-output protocol, in one place: the marker lines every rendered job script prints
 * and the tagged JSON lines the workloads print, with the code that parses them.
 */

export const MARKERS = { start: 'MLV_JOB_START', end: 'MLV_JOB_END', gpuEnv: 'MLV_GPU_ENV' } as const;
/** Tags of the JSON lines the workloads print (`MLV_RANK {...}`). */
export const TAGS = { rank: 'MLV_RANK', verify: 'MLV_VERIFY', result: 'MLV_RESULT' } as const;

export interface GpuEnv {
  cudaVisibleDevices?: string;
  slurmJobGpus?: string;
  /** Device ids in CUDA_VISIBLE_DEVICES (empty when unset). */
  devices: string[];
}

/** Parses the `MLV_GPU_ENV ...` line every rendered job script prints. */
export function gpuEnv(output: string): GpuEnv {
  const line = output.split('\n').find((l) => l.startsWith(MARKERS.gpuEnv));
  const kv = Object.fromEntries(
    (line ?? '')
      .split(' ')
      .slice(1)
      .map((p) => p.split('=', 2) as [string, string]),
  );
  const val = (k: string) => (kv[k] && kv[k] !== 'unset' ? kv[k] : undefined);
  const cvd = val('CUDA_VISIBLE_DEVICES');
  return { cudaVisibleDevices: cvd, slurmJobGpus: val('SLURM_JOB_GPUS'), devices: cvd ? cvd.split(',').filter(Boolean) : [] };
}

/** The start/end timestamps the job script printed itself (sacct's Elapsed has 1 s resolution). */
export function jobMarkers(output: string): { start?: number; end?: number; host?: string } {
  const s = new RegExp(`^${MARKERS.start} ([\\d.]+) (\\S+)`, 'm').exec(output);
  const e = new RegExp(`^${MARKERS.end} ([\\d.]+)`, 'm').exec(output);
  return { start: s ? Number(s[1]) : undefined, host: s?.[2], end: e ? Number(e[1]) : undefined };
}

/** Seconds between the start and end markers, when both were printed. */
export function scriptSeconds(output: string): number | undefined {
  const m = jobMarkers(output);
  return m.start && m.end ? m.end - m.start : undefined;
}

/** Extract `PREFIX {json}` lines from a log. */
export function taggedJson(log: string, prefix: string): unknown[] {
  const out: unknown[] = [];
  // torchrun --tee prefixes lines with `[default0]:`; srun --label with `0: `.
  const re = new RegExp(`^(?:\\[[^\\]]*\\]:|\\d+: )?\\s*${prefix} (\\{.*\\})\\s*$`, 'gm');
  for (const m of log.matchAll(re)) {
    try {
      out.push(JSON.parse(m[1] ?? ''));
    } catch {
      /* a torn line is reported by the caller's count check */
    }
  }
  return out;
}
