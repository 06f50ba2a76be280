/** The compute-node probe the preflight job runs, and the parser for what it prints. */

/**
 * Run as: bash -c PROBE_SCRIPT mlv-probe <file-written-from-login> <file-to-write> <runtime prefix...> <python>
 * Every value arrives as a positional argument, never interpolated into the script.
 */
export const PROBE_SCRIPT = `set -u
login_file=$1; out=$2; shift 2
echo "host=$(hostname)"
if [ -r "$login_file" ] && grep -q mlv-probe "$login_file"; then echo "sees_login=1"; else echo "sees_login=0"; fi
if echo mlv-probe > "$out" 2>/dev/null; then echo "writable=1"; else echo "writable=0"; fi
echo "apptainer=$(command -v apptainer || command -v singularity || true)"
echo "nvidia_smi=$(command -v nvidia-smi || true)"
echo "cvd=\${CUDA_VISIBLE_DEVICES-unset}"
"$@" -c 'import sys
print("python=" + sys.version.split()[0])
try:
    import torch
    print("torch=" + torch.__version__)
    print("cuda=" + str(int(torch.cuda.is_available())))
    print("cuda_count=" + str(torch.cuda.device_count()))
except Exception as e:
    print("torch_error=" + str(e).replace("\\n", " "))
' || echo "python_error=exit $?"
`;

export interface ProbeResult {
  host?: string;
  seesLogin: boolean;
  writable: boolean;
  apptainer?: string;
  nvidiaSmi?: string;
  cudaVisibleDevices?: string;
  python?: string;
  torch?: string;
  torchError?: string;
  pythonError?: string;
  cuda: boolean;
  cudaCount: number;
}

export function parseProbe(out: string): ProbeResult {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (m) kv[m[1]!] = m[2]!;
  }
  const opt = (k: string) => (kv[k] ? kv[k] : undefined);
  return {
    host: opt('host'),
    seesLogin: kv.sees_login === '1',
    writable: kv.writable === '1',
    apptainer: opt('apptainer'),
    nvidiaSmi: opt('nvidia_smi'),
    cudaVisibleDevices: kv.cvd && kv.cvd !== 'unset' ? kv.cvd : undefined,
    python: opt('python'),
    torch: opt('torch'),
    torchError: opt('torch_error'),
    pythonError: opt('python_error'),
    cuda: kv.cuda === '1',
    cudaCount: Number(kv.cuda_count ?? 0),
  };
}
