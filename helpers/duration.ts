/** Durations as people write them for retention: `90s`, `30m`, `2h`, `1d`. */
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
export const DURATION_HINT = 'a whole number and a unit (s, m, h or d), e.g. 30m, 2h or 1d';

/** Seconds, or undefined when `spec` is not such a duration. */
export function durationSeconds(spec: string): number | undefined {
  const m = /^(\d{1,6})\s*([smhd])$/.exec(spec.trim());
  return m ? Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS] : undefined;
}

/** An expiry as a Kubernetes label value can hold it (no ':'): `20261202T103000Z`. */
export const labelTime = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d+/g, '');
