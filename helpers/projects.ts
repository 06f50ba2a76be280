/**
 * The Playwright projects a target supports: one preflight (with its cleanup teardown) per
 * configured side, and the task projects whose sides are all configured. A project asked for
 * on the command line whose side is not configured is refused with the settings it needs.
 */
import { SIDE_SETTINGS, type Side, type Target } from './config.ts';

const PROJECT_SIDES: Record<string, Side[]> = {
  hpc: ['hpc'],
  'hpc-sweep': ['hpc'],
  cloud: ['cloud'],
  e2e: ['hpc', 'cloud'],
  pipeline: ['cloud'],
  'preflight-hpc': ['hpc'],
  'preflight-cloud': ['cloud'],
  'cleanup-hpc': ['hpc'],
  'cleanup-cloud': ['cloud'],
};

/** `--project=hpc`, `--project hpc` and repeated flags, as Playwright reads them. */
export function requestedProjects(argv: string[]): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a.startsWith('--project=')) out.push(a.slice('--project='.length));
    else if (a === '--project' && argv[i + 1]) out.push(argv[i + 1] ?? '');
  });
  return out;
}

/** One message per requested project whose side the target does not configure. */
export function unconfiguredProjects(target: Target, requested: string[]): string[] {
  return requested.flatMap((p) => {
    const missing = (PROJECT_SIDES[p] ?? []).filter((s) => !target[s]);
    return missing.map((s) => `--project=${p} needs the ${s === 'hpc' ? 'HPC' : 'cloud'} side of target "${target.name}" (${target.source}), which is not configured. Fix: set ${SIDE_SETTINGS[s]}.`);
  });
}

export const configured = (target: Target, project: string) => (PROJECT_SIDES[project] ?? []).every((s) => !!target[s]);
