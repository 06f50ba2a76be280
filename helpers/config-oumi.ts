/**
 * The target's Oumi settings (MLOPS-1.2, 2.2, 3.1, 3.2): how Oumi runs on the compute nodes, under
 * the runtime prefix (MLV_OUMI), and on the machine running the suite for its launcher (MLV_OUMI_RUNNER);
 * the pre-staged base model and Hugging Face cache; the SFT data and evaluation texts (default: the
 * suite's own small files, uploaded with the workloads). Nothing is downloaded at run time.
 */
import { FIXES, type Raw } from './config-schema.ts';
import { show } from './config-checks.ts';
import { splitWords } from './shell.ts';

export interface OumiTarget {
  /** MLV_OUMI: the words that run Oumi on a compute node (after MLV_RUNTIME_PREFIX); undefined: not given. */
  compute?: string[];
  /** MLV_OUMI_RUNNER: the words that run Oumi here, for `oumi launch`; default `oumi` on PATH. */
  runner: string[];
  /** MLV_OUMI_MODEL: a model folder on the shared filesystem, or a Hub id already in the HF cache. */
  model?: string;
  /** MLV_HF_HOME: the Hugging Face cache on the compute nodes (HF_HOME of the jobs). */
  hfHome?: string;
  /** Absolute paths on the shared filesystem; undefined: the suite's copies in <workloads>/oumi/data/. */
  sftData?: string;
  evalText?: string;
  evalPrompts?: string;
}

/** Plain words, as MLV_RUNTIME_PREFIX: no expansions, no leading NAME=value (bash would apply it). */
function words(key: 'MLV_OUMI' | 'MLV_OUMI_RUNNER', value: string | undefined, problems: string[]): string[] | undefined {
  if (!value) return undefined;
  try {
    const w = splitWords(value);
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0] ?? '')) throw new Error('it starts with an assignment, which bash would apply to the command');
    return w.length ? w : undefined;
  } catch (e) {
    problems.push(`${key} is not allowed: ${(e as Error).message} (got ${show(value)}). Fix: ${FIXES[key]}.`);
    return undefined;
  }
}

export function parseOumi(raw: Raw, problems: string[]): OumiTarget {
  return {
    compute: words('MLV_OUMI', raw.MLV_OUMI, problems),
    runner: words('MLV_OUMI_RUNNER', raw.MLV_OUMI_RUNNER, problems) ?? ['oumi'],
    model: raw.MLV_OUMI_MODEL,
    hfHome: raw.MLV_HF_HOME,
    sftData: raw.MLV_OUMI_SFT_DATA,
    evalText: raw.MLV_OUMI_EVAL_TEXT,
    evalPrompts: raw.MLV_OUMI_EVAL_PROMPTS,
  };
}
