/**
 * The one redaction function for everything the suite prints or writes: error messages, the
 * Allure environment, the manifest, attachments and the matrix. What it hides:
 * - values of secret-named keys (`isSecretKey`) written as `K=V`, `K: V` or `"K": "V"`;
 * - URL userinfo (`https://user:pw@host` -> `https://***@host`) and token-like query parameters;
 * - `Authorization:` headers and `Bearer` / `Basic` credentials;
 * - any exact value the caller knows to be secret (e.g. the configured token);
 * - in a runtime prefix (`redactWords`), every `--env K=V`, `-e K=V` and `K=V` value unless K is a
 *   harmless tuning variable (OMP_*, NCCL_*, CUDA_*, ... that is not secret-named).
 * Redaction is idempotent: redacting a redacted text changes nothing.
 */

export const MASK = '***';

/**
 * A key is secret when one of its `_`/`-`/`.`-separated words is TOKEN, PASSWORD, PASSWD, PASS,
 * PASSPHRASE, SECRET, CREDENTIAL(S), APIKEY, AUTH, COOKIE, SESSION or SIGNATURE, or it holds API_KEY,
 * ACCESS_KEY, SECRET_KEY or PRIVATE_KEY. A bare KEY is not secret (MLV_SSH_KEY is a path), and
 * neither is a name ending in _FILE, _PATH or _DIR (the location of a secret, not the secret).
 */
export function isSecretKey(name: string): boolean {
  const n = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace(/[-.]/g, '_');
  if (/_(FILE|PATH|DIR)$/.test(n)) return false;
  const words = n.split('_');
  if (words.some((w) => /^(TOKEN|PASSWORD|PASSWD|PASS|PASSPHRASE|SECRET|CREDENTIALS?|APIKEY|AUTH|COOKIE|SESSION|SIGNATURE|SIG)$/.test(w))) return true;
  // (X-Amz-Signature, -Credential and -Security-Token are secret by their words above.)
  return /(^|_)(API|ACCESS|SECRET|PRIVATE)_KEY(_|$)/.test(n);
}

/** Query parameters that carry credentials (besides secret-named ones): S3/GCS/Azure presigned URLs, OAuth, API keys. */
const SECRET_PARAMS =
  /^(access_token|id_token|refresh_token|token|code|key|api_key|apikey|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|client_secret|password|passwd)$/i;

/** Tuning variables whose values are shown in a runtime prefix (when not secret-named). */
const SHOWN_ENV = /^(OMP|MKL|CUDA|NCCL|TORCH|PYTORCH|NVIDIA|APPTAINER|SINGULARITY|LC|LANG)(_[A-Z0-9_]*)?$/;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function redactUrls(text: string): string {
  return (
    text
      // userinfo: everything between "scheme://" and "@" before the host (no "/", "?", "#" or space in between)
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"]+@/gi, `$1${MASK}@`)
      // query and fragment parameters
      .replace(/([?&#;])([^=&\s#'"]+)=([^&\s#'"]*)/g, (m, sep: string, k: string, v: string) => (v && !v.startsWith(MASK) && (SECRET_PARAMS.test(k) || isSecretKey(k)) ? `${sep}${k}=${MASK}` : m))
  );
}

function redactAssignments(text: string): string {
  return (
    text
      // Authorization headers and bearer/basic credentials
      .replace(/\b(authorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|token)\s+)?[^\s"',;]+/gi, (_m, h: string, scheme?: string) => `${h}${scheme ? `${scheme} ` : ''}${MASK}`)
      .replace(/\b(bearer|basic)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${MASK}`)
      // "KEY": "value" (JSON) and KEY=value / KEY: value
      .replace(/("([A-Za-z_][\w.-]*)"\s*:\s*")((?:[^"\\]|\\.)*)"/g, (m, pre: string, k: string, v: string) => (v && isSecretKey(k) ? `${pre}${MASK}"` : m))
      .replace(KEY_VALUE, maskKeyValue)
  );
}

/** KEY=value and KEY: value, the value bare or quoted. */
const KEY_VALUE = /(^|[^\w.-])([A-Za-z_][\w.-]*)(=|: )("[^"]*"?|'[^']*'?|[^\s"',;&]+)/g;

function maskKeyValue(m: string, pre: string, k: string, op: string, v: string): string {
  const q = /^["']/.test(v) ? v[0]! : '';
  if (isSecretKey(k)) return v.length > 2 * q.length && !v.startsWith(MASK) && !v.startsWith(`${q}${MASK}`) ? `${pre}${k}${op}${q}${MASK}${q}` : m;
  // Not secret: its value may itself hold one ("failed: HF_TOKEN=abc", "A=B_TOKEN=abc"), which this match consumed.
  return `${pre}${k}${op}${v.replace(KEY_VALUE, maskKeyValue)}`;
}

/** Redact a text (message, attachment, URL). `known` are exact secret values to hide wherever they appear. */
export function redact(text: string, known: Iterable<string | undefined> = []): string {
  let out = text;
  // Longest first, so that a secret holding another is hidden whole; short values would hide ordinary words.
  const values = [...known].filter((v): v is string => !!v && v.length >= 4 && v !== MASK).sort((a, b) => b.length - a.length);
  for (const v of values) out = out.replace(new RegExp(escapeRe(v), 'g'), MASK);
  return redactAssignments(redactUrls(out));
}

/** Redact the words of a runtime prefix (`apptainer exec --env HF_TOKEN=abc img.sif` -> `--env HF_TOKEN=***`). */
export function redactWords(words: readonly string[]): string[] {
  const out: string[] = [];
  const hide = (assignment: string) => {
    const eq = assignment.indexOf('=');
    if (eq <= 0) return redact(assignment);
    const k = assignment.slice(0, eq);
    const shown = SHOWN_ENV.test(k) && !isSecretKey(k) && !assignment.slice(eq + 1).includes(',');
    return shown ? assignment : `${k}=${MASK}`;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const flag = /^(--env|-e|--setenv|--build-arg)$/.exec(w);
    const inline = /^(--env|--setenv|--build-arg)=(.*)$/s.exec(w);
    if (flag && i + 1 < words.length) {
      out.push(w, hide(words[++i]!));
    } else if (inline) {
      out.push(`${inline[1]}=${hide(inline[2]!)}`);
    } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) {
      out.push(hide(w));
    } else out.push(redact(w));
  }
  return out;
}

/** The values `redactWords` hides in a runtime prefix, to be hidden wherever they appear (a rendered script, job output). */
export function hiddenValues(words: readonly string[]): string[] {
  const shown = redactWords(words);
  const out: string[] = [];
  words.forEach((w, i) => {
    const s = shown[i]!;
    if (s === w) return;
    const eq = w.indexOf('=');
    const masked = s.lastIndexOf(MASK);
    // the value after "K=" (or the whole word when its redaction is not a K=*** form)
    if (eq > 0 && masked > 0 && s.slice(0, masked) === w.slice(0, masked)) out.push(w.slice(masked));
    else out.push(w);
  });
  return out.filter((v) => v.length >= 4);
}

/** The part of a target that holds secrets (structural, so this file needs no config types). */
interface SecretHolder {
  hpc?: { ssh: { passphrase?: string }; runtimePrefix: readonly string[] };
  cloud?: { token?: string; ingressUrl?: string; prometheusUrl?: string; mnistModelUri?: string; llmModelUri?: string };
  mlflow?: { token?: string; password?: string; uri?: string };
  objectStore?: { secretAccessKey?: string; sessionToken?: string; endpoint?: string };
}

/** The secret parts of a URL (userinfo, token-like query values), to be hidden even where a message wraps or re-encodes it. */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  const out = [...url.matchAll(/^[a-z][a-z0-9+.-]*:\/\/([^\s/?#@'"]+)@/gi)].flatMap((m) => [m[1]!, ...m[1]!.split(':')]);
  for (const m of url.matchAll(/[?&#;]([^=&\s#'"]+)=([^&\s#'"]*)/g)) if (SECRET_PARAMS.test(m[1]!) || isSecretKey(m[1]!)) out.push(m[2]!, safeDecode(m[2]!));
  return [...new Set(out)].filter((v) => v.length >= 4);
}

const safeDecode = (v: string) => {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};

/** Every exact secret value a target holds: the key passphrase, the inference token, the runtime prefix's hidden values, the URLs' credentials. */
export function targetSecrets(t: SecretHolder): string[] {
  const c = t.cloud;
  const urls = [c?.ingressUrl, c?.prometheusUrl, c?.mnistModelUri, c?.llmModelUri, t.mlflow?.uri, t.objectStore?.endpoint].flatMap(urlSecrets);
  const e2e = [t.mlflow?.token, t.mlflow?.password, t.objectStore?.secretAccessKey, t.objectStore?.sessionToken];
  return [t.hpc?.ssh.passphrase, c?.token, ...e2e, ...hiddenValues(t.hpc?.runtimePrefix ?? []), ...urls].filter((v): v is string => !!v);
}

/** Redact an error's message and stack in place (its class and fields stay: INFRA markers, instanceof checks). */
export function redactError<E>(e: E, known: Iterable<string | undefined> = []): E {
  if (e instanceof Error) {
    const secrets = [...known];
    e.message = redact(e.message, secrets);
    if (e.stack) e.stack = redact(e.stack, secrets);
  }
  return e;
}

/** Redact a flat record for a report: secret-named keys are masked whole, every other value is redacted as text. */
export function redactRecord(rec: Record<string, string>, known: Iterable<string | undefined> = []): Record<string, string> {
  const secrets = [...known];
  return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, isSecretKey(k) && v ? MASK : redact(v, secrets)]));
}
