/**
 * Serving certificates for the lab ingress, issued from the lab CA
 * (<state-dir>/ca.crt + ca.key) with the openssl CLI.
 *
 * Wildcards cover one DNS label only, so `*.lab.mlv.io` does not match
 * `<isvc>.<ns>.lab.mlv.io`. The default certificate therefore names
 * `*.<ns>.lab.mlv.io` for the well-known lab namespaces, and a certificate for
 * any other namespace is issued on first use through SNI.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSecureContext, type SecureContext } from 'node:tls';

const run = promisify(execFile);

export const LAB_DOMAIN = 'lab.mlv.io';
const WELL_KNOWN_NAMESPACES = ['default', 'production', 'mlops', 'monitoring'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface IssuedCert {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

interface CertIssuerOptions {
  caCert: string;
  caKey: string;
  outDir: string;
}

export class CertIssuer {
  readonly domain = LAB_DOMAIN;
  private readonly sniCache = new Map<string, Promise<SecureContext>>();

  constructor(private readonly opts: CertIssuerOptions) {
    if (!existsSync(opts.caCert) || !existsSync(opts.caKey)) {
      throw new Error(`lab CA not found (${opts.caCert}, ${opts.caKey}); start the lab API server first, it creates the CA`);
    }
    mkdirSync(opts.outDir, { recursive: true, mode: 0o700 });
  }

  /** SANs of the default ingress certificate. */
  defaultNames(): string[] {
    return ['IP:127.0.0.1', 'DNS:localhost', `DNS:${this.domain}`, `DNS:*.${this.domain}`, ...WELL_KNOWN_NAMESPACES.map((ns) => `DNS:*.${ns}.${this.domain}`)];
  }

  /** Issue (or reuse) a certificate for `names` stored as <outDir>/<base>.{crt,key}. */
  async issue(base: string, cn: string, names: string[]): Promise<IssuedCert> {
    const certFile = join(this.opts.outDir, `${base}.crt`);
    const keyFile = join(this.opts.outDir, `${base}.key`);
    const stamp = join(this.opts.outDir, `${base}.names`);
    const caFingerprint = createHash('sha256').update(readFileSync(this.opts.caCert)).digest('hex');
    const wanted = `${caFingerprint}\n${names.join(',')}\n`;
    if (existsSync(certFile) && existsSync(keyFile) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) {
      try {
        await run('openssl', ['x509', '-in', certFile, '-noout', '-checkend', String(7 * 86400)]);
        return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
      } catch {
        // expiring: reissue
      }
    }
    const tmp = join(this.opts.outDir, `.${base}.${process.pid}.${Date.now()}`);
    mkdirSync(tmp, { recursive: true });
    try {
      const key = join(tmp, 'tls.key');
      const csr = join(tmp, 'tls.csr');
      const crt = join(tmp, 'tls.crt');
      const ext = join(tmp, 'ext.cnf');
      writeFileSync(
        ext,
        [
          `subjectAltName=${names.join(',')}`,
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature,keyEncipherment',
          'extendedKeyUsage=serverAuth',
          'subjectKeyIdentifier=hash',
          'authorityKeyIdentifier=keyid,issuer',
          '',
        ].join('\n'),
      );
      await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
      await run('openssl', ['req', '-new', '-key', key, '-subj', `/O=mlv-lab/CN=${cn}`, '-out', csr]);
      const serial = '0x' + createHash('sha1').update(`${base}${Date.now()}${Math.random()}`).digest('hex').slice(0, 30);
      await run('openssl', ['x509', '-req', '-in', csr, '-CA', this.opts.caCert, '-CAkey', this.opts.caKey, '-set_serial', serial, '-days', '365', '-sha256', '-extfile', ext, '-out', crt]);
      writeFileSync(key, readFileSync(key), { mode: 0o600 });
      renameSync(key, keyFile);
      renameSync(crt, certFile);
      writeFileSync(stamp, wanted);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`openssl failed to issue the ingress certificate ${base}: ${err.stderr?.trim() || err.message}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  }

  issueDefault(): Promise<IssuedCert> {
    return this.issue('ingress', `*.${this.domain}`, this.defaultNames());
  }

  /**
   * tls.Server SNICallback: a certificate for `*.<ns>.<domain>` when the
   * client names a host in a namespace the default certificate does not cover.
   * Returns undefined (default certificate) for anything else.
   */
  sniContext(servername: string): Promise<SecureContext> | undefined {
    const host = servername.toLowerCase().replace(/\.$/, '');
    if (!host.endsWith(`.${this.domain}`)) return undefined;
    const labels = host.slice(0, -(this.domain.length + 1)).split('.');
    if (labels.length !== 2) return undefined;
    const ns = labels[1]!;
    if (WELL_KNOWN_NAMESPACES.includes(ns) || !DNS_LABEL.test(ns)) return undefined;
    let ctx = this.sniCache.get(ns);
    if (!ctx) {
      if (this.sniCache.size >= 256) return undefined;
      ctx = this.issue(`ns-${ns}`, `*.${ns}.${this.domain}`, [`DNS:*.${ns}.${this.domain}`, `DNS:${ns}.${this.domain}`]).then((c) => createSecureContext({ cert: c.cert, key: c.key }));
      ctx.catch(() => this.sniCache.delete(ns));
      this.sniCache.set(ns, ctx);
    }
    return ctx;
  }
}
