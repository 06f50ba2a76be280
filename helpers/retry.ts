/**
 * The one retry a scheduler-transient fault earns (a node failed under the job, it was
 * preempted or requeued): only the first attempt is retried, and only when the partition has
 * enough usable nodes now. Waiting for a lost node to come back is not a retry: a 2-node job
 * on a 2-node partition with one node down fails at once, saying why it was not retried.
 */
import { UNAVAILABLE_NODE, type NodeReason } from './slurm-parsers.ts';

export type RetryDecision = { retry: true; why: string } | { retry: false; why: string };

/** The most attempts a job gets: the first and one retry. */
export const MAX_ATTEMPTS = 2;

export function retryDecision(attempt: number, partition: string, nodes: NodeReason[] | undefined, needed: number): RetryDecision {
  if (attempt >= MAX_ATTEMPTS) return { retry: false, why: `Not retried again: this was already the retry (at most ${MAX_ATTEMPTS - 1} retry per job)` };
  if (!nodes) return { retry: false, why: `Not retried: the nodes of partition ${partition} could not be listed (sinfo failed)` };
  const usable = nodes.filter((n) => !UNAVAILABLE_NODE.test(n.state));
  const summary = `${usable.length} of ${nodes.length} node(s) of partition ${partition} usable (${nodes.map((n) => `${n.node}=${n.state}`).join(', ') || 'none listed'})`;
  if (usable.length < needed) return { retry: false, why: `Not retried: the job needs ${needed} node(s), and only ${summary}` };
  return { retry: true, why: `retrying once: ${summary}, the job needs ${needed}` };
}
