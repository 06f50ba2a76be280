/**
 * What went wrong under load, in words a reader acts on: the error kinds with their counts
 * ("HTTP 502 x 8, connection x 3"), and the model-server containers that restarted meanwhile
 * (from the pods' containerStatuses, as kubectl describe shows them).
 */
import { utcClock } from './duration.ts';

export interface ErrorKinds {
  byStatus: Record<number, number>;
  timeout: number;
  connection: number;
  invalid: number;
  other: number;
}

/** "HTTP 502 x 8, HTTP 503 x 1, connection x 3", most frequent first; "" when there were none. */
export function errorBreakdown(e: ErrorKinds): string {
  const kinds: [string, number][] = [
    ...Object.entries(e.byStatus).map(([code, n]): [string, number] => [`HTTP ${code}`, n]),
    ['timeout', e.timeout],
    ['connection', e.connection],
    ['invalid response', e.invalid],
    ['other', e.other],
  ];
  return kinds
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} x ${n}`)
    .join(', ');
}

interface Terminated {
  exitCode?: number;
  reason?: string;
  signal?: number;
  finishedAt?: string | Date;
}
export interface PodLike {
  metadata?: { name?: string };
  status?: { containerStatuses?: { name: string; restartCount: number; lastState?: { terminated?: Terminated } }[] };
}

const at = (t: string | Date | undefined) => (t ? ` at ${utcClock(t)}` : '');

/** "pod mnist-predictor-1 container kserve-container restarted 1 time(s) (last: Error, exit 137 at 04:51:02 UTC)". */
export function podRestarts(pods: readonly PodLike[]): string[] {
  return pods.flatMap((p) =>
    (p.status?.containerStatuses ?? [])
      .filter((c) => c.restartCount > 0)
      .map((c) => {
        const t = c.lastState?.terminated;
        const last = t ? ` (last: ${t.reason ?? 'terminated'}, exit ${t.exitCode ?? '?'}${at(t.finishedAt)})` : '';
        return `pod ${p.metadata?.name ?? '?'} container ${c.name} restarted ${c.restartCount} time(s)${last}`;
      }),
  );
}
