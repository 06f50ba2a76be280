/** Durations as people write them for retention (`90s`, `30m`, `2h`, `1d`), and times as the suite prints them. */
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
export const DURATION_HINT = 'a whole number and a unit (s, m, h or d), e.g. 30m, 2h or 1d';

/** Seconds, or undefined when `spec` is not such a duration. */
export function durationSeconds(spec: string): number | undefined {
  const m = /^(\d{1,6})\s*([smhd])$/.exec(spec.trim());
  return m ? Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS] : undefined;
}

/** A time of day in messages: `10:30:05 UTC`. */
export const utcClock = (t: number | string | Date) => `${new Date(t).toISOString().slice(11, 19)} UTC`;

/** An expiry as a Kubernetes label value can hold it (no ':'): `20261202T103000Z`. */
export const labelTime = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d+/g, '');
