/** Where a run keeps its local state: the capability manifest and the resource ledger. */
import { resolve } from 'node:path';

export const STATE_DIR = resolve(process.env.MLV_STATE_DIR ?? 'reports/.state');
export const LEDGER_DIR = resolve(STATE_DIR, 'ledger');
export const manifestPath = (runId: string) => resolve(STATE_DIR, `manifest-${runId}.json`);
export const cloudManifestPath = (runId: string) => resolve(STATE_DIR, `cloud-manifest-${runId}.json`);

export function currentRunId(): string {
  const id = process.env.MLV_RUN_ID;
  if (!id) throw new Error('MLV_RUN_ID is not set: run the suite through playwright.config.ts');
  return id;
}

/** A short, sortable, unique run id usable in job names, labels and paths. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `mlv-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}
