/** The MLOPS task catalogue: the matrix axes used by Allure labels and the validation matrix. */

type Tier = 'CRITICAL' | 'HIGH' | 'MEDIUM';
export type Component =
  | 'SLURM submission'
  | 'GRES'
  | 'Shared FS'
  | 'Apptainer'
  | 'GPU passthrough'
  | 'Multi-GPU communication'
  | 'Oumi'
  | 'Kubernetes and KServe'
  | 'Object storage'
  | 'MLflow registry'
  | 'GPU Operator'
  | 'Monitoring'
  | 'HPC→Cloud';

export interface TaskInfo {
  id: string;
  title: string;
  category: string;
  tier: Tier;
  project: 'hpc' | 'cloud' | 'e2e';
  components: Component[];
}

const C1 = 'Category 1: Basic training';
const C2 = 'Category 2: Distributed training';
const C3 = 'Category 3: Oumi integration';
const C4 = 'Category 4: Inference';
const C5 = 'Category 5: End-to-end workflow';

export const TASKS: TaskInfo[] = [
  { id: 'MLOPS-1.1', title: 'Single-GPU MNIST training', category: C1, tier: 'CRITICAL', project: 'hpc', components: ['SLURM submission', 'GRES', 'Shared FS', 'Apptainer', 'GPU passthrough'] },
  { id: 'MLOPS-1.2', title: 'Single-GPU LLM fine-tuning with Oumi', category: C1, tier: 'HIGH', project: 'hpc', components: ['SLURM submission', 'Shared FS', 'Apptainer', 'GPU passthrough', 'Oumi'] },
  {
    id: 'MLOPS-2.1',
    title: 'Multi-GPU data-parallel training',
    category: C2,
    tier: 'HIGH',
    project: 'hpc',
    components: ['SLURM submission', 'GRES', 'Shared FS', 'Apptainer', 'GPU passthrough', 'Multi-GPU communication'],
  },
  {
    id: 'MLOPS-2.2',
    title: 'Multi-GPU LLM training with Oumi',
    category: C2,
    tier: 'HIGH',
    project: 'hpc',
    components: ['SLURM submission', 'GRES', 'Shared FS', 'Apptainer', 'GPU passthrough', 'Multi-GPU communication', 'Oumi'],
  },
  { id: 'MLOPS-3.1', title: 'Oumi custom cluster', category: C3, tier: 'CRITICAL', project: 'hpc', components: ['Shared FS', 'Apptainer', 'Oumi'] },
  { id: 'MLOPS-3.2', title: 'Oumi evaluation', category: C3, tier: 'MEDIUM', project: 'hpc', components: ['Shared FS', 'Apptainer', 'Oumi'] },
  { id: 'MLOPS-4.1', title: 'CPU inference on KServe', category: C4, tier: 'HIGH', project: 'cloud', components: ['Kubernetes and KServe'] },
  { id: 'MLOPS-4.2', title: 'GPU inference', category: C4, tier: 'HIGH', project: 'cloud', components: ['Kubernetes and KServe', 'GPU Operator'] },
  {
    id: 'MLOPS-5.1',
    title: 'End-to-end pipeline',
    category: C5,
    tier: 'CRITICAL',
    project: 'e2e',
    components: ['Kubernetes and KServe', 'Object storage', 'MLflow registry', 'Monitoring', 'HPC→Cloud'],
  },
  { id: 'MLOPS-5.2', title: 'Pipeline automation', category: C5, tier: 'MEDIUM', project: 'e2e', components: ['Monitoring'] },
];

/** `specs/hpc/mlops-1.1-mnist.spec.ts` → MLOPS-1.1 */
export function taskFromFile(file: string): TaskInfo | undefined {
  const m = /mlops-(\d+\.\d+)[^/\\]*$/i.exec(file);
  return m ? TASKS.find((t) => t.id === `MLOPS-${m[1]}`) : undefined;
}
