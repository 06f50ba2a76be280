/**
 * AWS Signature Version 4 checking for the lab object store: s3rver parses a V4 Authorization
 * header but never computes the signature (lib/middleware/authentication.js: "Signature version 4
 * calculation is unimplemeneted"), so every request is checked here first, as S3 checks it
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html): the
 * canonical request from the method, the path as sent, the sorted query, the signed headers and the
 * x-amz-content-sha256 value; the string to sign with the credential scope; the HMAC chain of the
 * secret. Presigned URLs (X-Amz-* query) are checked the same way with UNSIGNED-PAYLOAD. Signature
 * V2 is refused, as in the S3 regions that accept only V4. The payload itself is not hashed.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface S3Key {
  accessKeyId: string;
  secretAccessKey: string;
}

/** An S3 error response: HTTP status, Code, Message. */
export interface S3Refusal {
  status: number;
  code: string;
  message: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SKEW_MS = 15 * 60_000;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();
/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const decode = (s: string) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
};

/** "20260102T030405Z" → Date (NaN when malformed). */
function amzDate(s: string | undefined): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

function canonicalQuery(rawQuery: string, drop?: string): string {
  if (!rawQuery) return '';
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return [decode(i < 0 ? p : p.slice(0, i)), decode(i < 0 ? '' : p.slice(i + 1))] as [string, string];
    })
    .filter(([k]) => k !== drop)
    .map(([k, v]): [string, string] => [rfc3986(k), rfc3986(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ');
}

interface Parsed {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  timestamp: string;
  payloadHash: string;
  dropQuery?: string;
  expires?: number;
}

const malformed = (message: string): S3Refusal => ({ status: 400, code: 'AuthorizationHeaderMalformed', message });

function fromHeader(req: IncomingMessage, auth: string): Parsed | S3Refusal {
  const parts = new Map(
    auth
      .slice(ALGORITHM.length)
      .split(',')
      .map((c) => c.trim().split('=', 2) as [string, string]),
  );
  const cred = parts.get('Credential')?.split('/') ?? [];
  const signature = parts.get('Signature');
  const signed = parts.get('SignedHeaders');
  if (cred.length !== 5 || !signature || !signed)
    return malformed('The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.');
  const payloadHash = headerValue(req, 'x-amz-content-sha256');
  if (!payloadHash) return { status: 400, code: 'InvalidRequest', message: 'Missing required header for this request: x-amz-content-sha256' };
  const timestamp = headerValue(req, 'x-amz-date');
  return { accessKeyId: cred[0]!, date: cred[1]!, region: cred[2]!, service: cred[3]!, signedHeaders: signed.split(';'), signature, timestamp, payloadHash };
}

function fromQuery(q: URLSearchParams): Parsed | S3Refusal {
  const cred = q.get('X-Amz-Credential')?.split('/') ?? [];
  const signature = q.get('X-Amz-Signature');
  const signed = q.get('X-Amz-SignedHeaders');
  const expires = Number(q.get('X-Amz-Expires'));
  if (q.get('X-Amz-Algorithm') !== ALGORITHM || cred.length !== 5 || !signature || !signed || !Number.isFinite(expires)) {
    return {
      status: 400,
      code: 'AuthorizationQueryParametersError',
      message: 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    };
  }
  const [accessKeyId, date, region, service] = cred as [string, string, string, string];
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: signed.split(';'),
    signature,
    timestamp: q.get('X-Amz-Date') ?? '',
    payloadHash: 'UNSIGNED-PAYLOAD',
    dropQuery: 'X-Amz-Signature',
    expires,
  };
}

/**
 * Check the request's signature against `keys`; undefined when it is good. An unsigned request is
 * refused with 403 AccessDenied (no bucket of the lab is public) unless `anonymousOk`.
 */
export function verifySigV4(req: IncomingMessage, keys: readonly S3Key[], region: string, anonymousOk = false, now = Date.now()): S3Refusal | undefined {
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const path = qi < 0 ? url : url.slice(0, qi);
  const rawQuery = qi < 0 ? '' : url.slice(qi + 1);
  const q = new URLSearchParams(rawQuery);
  const auth = headerValue(req, 'authorization');
  if (auth.startsWith('AWS ') || q.has('Signature')) {
    return { status: 400, code: 'InvalidRequest', message: 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.' };
  }
  const presigned = q.has('X-Amz-Algorithm') || q.has('X-Amz-Credential');
  if (!auth && !presigned) return anonymousOk ? undefined : { status: 403, code: 'AccessDenied', message: 'Access Denied' };
  if (auth && presigned)
    return {
      status: 400,
      code: 'InvalidArgument',
      message: 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    };
  if (auth && !auth.startsWith(ALGORITHM)) return { status: 400, code: 'InvalidArgument', message: 'Unsupported Authorization Type' };
  const p = auth ? fromHeader(req, auth) : fromQuery(q);
  if ('code' in p) return p;
  const key = keys.find((k) => k.accessKeyId === p.accessKeyId);
  if (!key) return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  if (p.region !== region) return malformed(`The authorization header is malformed; the region '${p.region}' is wrong; expecting '${region}'`);
  if (p.service !== 's3') return malformed(`The authorization header is malformed; incorrect service "${p.service}". This endpoint belongs to "s3".`);
  const t = amzDate(p.timestamp);
  if (Number.isNaN(t)) return { status: 403, code: 'AccessDenied', message: 'AWS authentication requires a valid Date or x-amz-date header' };
  if (p.expires !== undefined ? now > t + p.expires * 1000 : Math.abs(now - t) > SKEW_MS) {
    return p.expires !== undefined
      ? { status: 403, code: 'AccessDenied', message: 'Request has expired' }
      : { status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' };
  }
  if (!p.signedHeaders.includes('host')) return malformed('The authorization header is malformed; SignedHeaders must include host.');
  const canonicalHeaders = p.signedHeaders.map((h) => `${h}:${headerValue(req, h)}\n`).join('');
  const canonical = [req.method ?? 'GET', path, canonicalQuery(rawQuery, p.dropQuery), canonicalHeaders, p.signedHeaders.join(';'), p.payloadHash].join('\n');
  const scope = `${p.date}/${p.region}/${p.service}/aws4_request`;
  const toSign = [ALGORITHM, p.timestamp, scope, sha256(canonical)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secretAccessKey}`, p.date), p.region), p.service), 'aws4_request');
  const expected = Buffer.from(createHmac('sha256', signingKey).update(toSign, 'utf8').digest('hex'));
  const given = Buffer.from(p.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' };
  }
  return undefined;
}
