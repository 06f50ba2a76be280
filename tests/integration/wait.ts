/** Polling for the integration tests that drive in-process lab servers. */
import { setTimeout as sleep } from 'node:timers/promises';

/** Call `fn` every `everyMs` until it returns a truthy value (errors count as not yet); after `timeoutMs`, throw naming `what` and the last error. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < timeoutMs) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
