/**
 * The declared GPUs per node against what SLURM holds for each node of the partition. A node
 * whose slurmd found fewer GPUs than slurm.conf declares is set INVAL or drained by slurmctld
 * with "gres/gpu count reported lower than configured (1 < 4)"; sinfo then still shows the
 * configured GRES, so the reason is what tells the count.
 */
import type { NodeReason, SinfoNode } from './slurm-parsers.ts';

const LOWER = /gres\/gpu count reported lower than configured \((\d+) < (\d+)\)/i;

const fix = (node: string) =>
  `Fix: check the GPUs on ${node} (nvidia-smi, the driver, gres.conf), then resume it (scontrol update nodename=${node} state=resume); or lower MLV_GPUS_PER_NODE to what every node has`;

/** One problem per node that has fewer GPUs than the target declares, naming the node and its count. */
export function gresProblems(nodes: readonly SinfoNode[], declared: number): string[] {
  if (declared <= 0) return [];
  const out: string[] = [];
  for (const n of nodes) {
    const lower = LOWER.exec(n.reason ?? '');
    const have = lower ? Number(lower[1]) : (n.gres.gpu ?? 0);
    if (have >= declared) continue;
    const slurm = lower ? `; SLURM set it ${n.state}: "${n.reason}"` : '';
    out.push(`node ${n.node} has ${have} GPU(s) where the target declares ${declared} per node (MLV_GPUS_PER_NODE=${declared})${slurm}. ${fix(n.node)}`);
  }
  return out;
}

/** "node2=drained (reason: "disk full")": a node's state, with SLURM's reason when it has one. */
export function nodeWithReason(n: Pick<SinfoNode, 'node' | 'state' | 'flags' | 'reason'>): string {
  return `${n.node}=${n.state}${n.flags}${n.reason && n.reason !== 'none' ? ` (reason: "${n.reason}")` : ''}`;
}

/** The nodes with SLURM's reason for each (from `sinfo -o SINFO_REASON_FORMAT`), where it has one. */
export const withReasons = (nodes: readonly SinfoNode[], reasons: readonly NodeReason[]): SinfoNode[] =>
  nodes.map((n) => {
    const r = reasons.find((x) => x.node === n.node)?.reason;
    return r && r !== 'none' ? { ...n, reason: r } : n;
  });
