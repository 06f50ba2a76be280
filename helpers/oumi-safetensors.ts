/**
 * Is a saved model folder complete (pure)? A safetensors file is 8 bytes of little-endian header length,
 * a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?}, then the tensor
 * bytes; a sharded save adds model.safetensors.index.json whose weight_map names each tensor's file.
 * The caller lists the folder (name -> size in bytes) and reads the first bytes of each weights file.
 */

/** The format's own bound on the header (safetensors refuses larger). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;
export const INDEX_FILE = 'model.safetensors.index.json';

/** The header length a file's first 8 bytes declare. */
export function safetensorsHeaderLength(first8: Buffer): number {
  if (first8.length < 8) throw new Error(`a safetensors file starts with 8 bytes of header length, got ${first8.length} byte(s)`);
  const n = first8.readBigUInt64LE(0);
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) throw new Error(`safetensors header length ${n} is over the format's limit of ${SAFETENSORS_MAX_HEADER} bytes`);
  return Number(n);
}

export type SafetensorsCheck = { ok: true; tensors: string[]; dataBytes: number } | { ok: false; problem: string };

/** Check one file from its size and its head (at least 8 + header length bytes). */
export function checkSafetensors(name: string, size: number, head: Buffer): SafetensorsCheck {
  const bad = (problem: string): SafetensorsCheck => ({ ok: false, problem: `${name}: ${problem}` });
  if (size < 8) return bad(`${size} bytes: empty or truncated`);
  let n: number;
  try {
    n = safetensorsHeaderLength(head);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (8 + n > size) return bad(`the header claims ${n} bytes, the file has ${size}`);
  if (head.length < 8 + n) return bad(`only ${head.length} bytes read, the header needs ${8 + n}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(head.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    return bad(`the header is not JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) return bad('the header is not a JSON object');
  const tensors = Object.keys(header).filter((k) => k !== '__metadata__');
  if (!tensors.length) return bad('no tensors');
  let end = 0;
  for (const t of tensors) {
    const e = header[t] as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const off = e?.data_offsets;
    if (typeof e?.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isInteger(x) && x >= 0) || off[0] > off[1])
      return bad(`tensor ${t} has no valid dtype, shape and data_offsets`);
    end = Math.max(end, off[1] as number);
  }
  if (8 + n + end !== size) return bad(`the tensors end at byte ${8 + n + end}, the file has ${size} bytes`);
  return { ok: true, tensors, dataBytes: end };
}

/** model.safetensors.index.json against the folder: every shard it names exists and is non-empty. */
export function checkShardIndex(indexText: string, sizes: Record<string, number>): string[] {
  let map: Record<string, unknown>;
  try {
    map = (JSON.parse(indexText) as { weight_map?: Record<string, unknown> }).weight_map ?? {};
  } catch (e) {
    return [`${INDEX_FILE} is not JSON (${(e as Error).message})`];
  }
  const shards = [...new Set(Object.values(map))];
  if (!shards.length) return [`${INDEX_FILE} has an empty weight_map`];
  return shards.flatMap((s) =>
    typeof s !== 'string' ? [`${INDEX_FILE} maps a tensor to ${JSON.stringify(s)}`] : !(s in sizes) ? [`${INDEX_FILE} names ${s}, which is missing`] : sizes[s]! < 8 ? [`${s} is empty`] : [],
  );
}

/** The weights files of a saved model: the shards of the index, else model.safetensors. */
export function weightFiles(sizes: Record<string, number>, indexText?: string): string[] {
  if (indexText !== undefined) {
    try {
      return [...new Set(Object.values((JSON.parse(indexText) as { weight_map?: Record<string, string> }).weight_map ?? {}))].filter((s) => s in sizes);
    } catch {
      return [];
    }
  }
  return 'model.safetensors' in sizes ? ['model.safetensors'] : [];
}

/**
 * Everything wrong with a saved model folder: no config.json, no weights, an index naming missing
 * shards, a weights file whose header or size is wrong. `heads` holds the first bytes of each weights file.
 */
export function modelFolderProblems(sizes: Record<string, number>, heads: Record<string, Buffer>, indexText?: string): string[] {
  const problems: string[] = [];
  if (!('config.json' in sizes)) problems.push('config.json is missing');
  if (indexText === undefined && INDEX_FILE in sizes) problems.push(`${INDEX_FILE} is there but was not read`);
  if (indexText !== undefined) problems.push(...checkShardIndex(indexText, sizes));
  const files = weightFiles(sizes, indexText);
  if (!files.length && indexText === undefined) problems.push('no model.safetensors and no model.safetensors.index.json');
  for (const f of files) {
    const head = heads[f];
    if (!head) problems.push(`${f}: its first bytes were not read`);
    else {
      const c = checkSafetensors(f, sizes[f]!, head);
      if (!c.ok) problems.push(c.problem);
    }
  }
  return problems;
}
