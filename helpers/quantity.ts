/**
 * Kubernetes resource quantities ("500m", "2Gi", "1.5", "1e3") as plain
 * numbers. One parser for the suite (helpers/isvc.ts validation) and the lab
 * controller (CPU threads, memory limits).
 *
 * Grammar (k8s.io/apimachinery resource.Quantity): a signed decimal number,
 * then either a decimal exponent (e3, E-2), a binary suffix (Ki Mi Gi Ti Pi Ei)
 * or a decimal suffix (n u m k M G T P E), or nothing.
 */

const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/** Parse a Kubernetes quantity to a number; null if it is not one. Surrounding whitespace is ignored. */
export function parseQuantity(q: string): number | null {
  const m = QUANTITY.exec(q.trim());
  if (!m) return null;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return m[3] ? base * (SUFFIX[m[3]] ?? 1) : base;
}
