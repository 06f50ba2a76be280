// Lab PKI and credentials, made with the openssl CLI:
//   <state>/ca.crt, ca.key           lab CA (other lab components may sign their own certs with it)
//   <state>/apiserver.crt, .key      API server cert, SAN IP:127.0.0.1, DNS:localhost
//   <state>/token                    bearer token accepted by the API server
//   <state>/kubeconfig               cluster/context "mlv-lab"
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StatePaths {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  token: string;
  kubeconfig: string;
}

export function statePaths(stateDir: string): StatePaths {
  return {
    caCert: join(stateDir, 'ca.crt'),
    caKey: join(stateDir, 'ca.key'),
    serverCert: join(stateDir, 'apiserver.crt'),
    serverKey: join(stateDir, 'apiserver.key'),
    token: join(stateDir, 'token'),
    kubeconfig: join(stateDir, 'kubeconfig'),
  };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function ensureCa(stateDir: string): void {
  const p = statePaths(stateDir);
  if (existsSync(p.caCert) && existsSync(p.caKey)) return;
  mkdirSync(stateDir, { recursive: true });
  const ext = join(stateDir, '.ca-ext.cnf');
  writeFileSync(
    ext,
    [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = v3_ca',
      'prompt = no',
      '[dn]',
      'CN = mlv-lab-ca',
      '[v3_ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.caKey + '.tmp', '-out', p.caCert + '.tmp', '-days', '3650', '-config', ext], stateDir);
  renameSync(p.caKey + '.tmp', p.caKey);
  renameSync(p.caCert + '.tmp', p.caCert);
  rmSync(ext, { force: true });
}

/**
 * Issue a leaf certificate signed by the lab CA. `sans` are openssl SAN entries such as
 * "IP:127.0.0.1" or "DNS:localhost". Exported so other lab components can use it.
 */
export function issueCert(stateDir: string, certPath: string, keyPath: string, commonName: string, sans: string[]): void {
  ensureCa(stateDir);
  const p = statePaths(stateDir);
  const tag = randomBytes(4).toString('hex');
  const csr = join(stateDir, `.${tag}.csr`);
  const ext = join(stateDir, `.${tag}-ext.cnf`);
  writeFileSync(
    ext,
    ['basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature,keyEncipherment', 'extendedKeyUsage = serverAuth,clientAuth', `subjectAltName = ${sans.join(',')}`, ''].join('\n'),
  );
  try {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath + '.tmp', '-out', csr, '-subj', `/CN=${commonName}`], stateDir);
    openssl(['x509', '-req', '-in', csr, '-CA', p.caCert, '-CAkey', p.caKey, '-CAcreateserial', '-out', certPath + '.tmp', '-days', '825', '-sha256', '-extfile', ext], stateDir);
    renameSync(keyPath + '.tmp', keyPath);
    renameSync(certPath + '.tmp', certPath);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

export function ensureServerCert(stateDir: string): void {
  const p = statePaths(stateDir);
  if (existsSync(p.serverCert) && existsSync(p.serverKey)) return;
  issueCert(stateDir, p.serverCert, p.serverKey, 'mlv-lab-apiserver', ['IP:127.0.0.1', 'DNS:localhost']);
}

export function ensureToken(stateDir: string): string {
  const p = statePaths(stateDir);
  if (existsSync(p.token)) {
    const t = readFileSync(p.token, 'utf8').trim();
    if (t) return t;
  }
  mkdirSync(stateDir, { recursive: true });
  const token = randomBytes(24).toString('hex');
  writeFileSync(p.token, token + '\n', { mode: 0o600 });
  return token;
}

export function kubeconfigYaml(server: string, caPem: string, token: string): string {
  const caData = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: mlv-lab',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: mlv-lab-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: mlv-lab',
    '  context:',
    '    cluster: mlv-lab',
    '    user: mlv-lab-admin',
    '    namespace: default',
    'current-context: mlv-lab',
    'preferences: {}',
    '',
  ].join('\n');
}

export function writeKubeconfig(stateDir: string, server: string, token: string): string {
  const p = statePaths(stateDir);
  const yaml = kubeconfigYaml(server, readFileSync(p.caCert, 'utf8'), token);
  writeFileSync(p.kubeconfig + '.tmp', yaml, { mode: 0o600 });
  renameSync(p.kubeconfig + '.tmp', p.kubeconfig);
  return p.kubeconfig;
}
