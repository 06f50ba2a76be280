/**
 * A dropped SSH connection, against a real ssh2 Server in-process: with a reconnect granted,
 * the next command re-establishes the connection and runs (the drop is recorded); a command cut
 * off by the drop fails rather than being re-sent; without a reconnect left, or when the server
 * is gone, the error names the connection, when it dropped and the fix, as ConnectionLostError.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { SshTarget } from '../../helpers/config.ts';
import { ConnectionLostError } from '../../helpers/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-ssh-reconnect-'));
process.env.MLV_STATE_DIR = join(dir, 'state');
const { SshConnection } = await import('../../clients/ssh.ts');

const haveSshKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;
const skip = !haveSshKeygen && 'no ssh-keygen';
const keygen = (name: string) => {
  const f = join(dir, name);
  assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]).status, 0);
  return { priv: readFileSync(f), pub: readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/), path: f };
};

let server: InstanceType<typeof ssh2.Server> | undefined;
let port = 0;
const sockets: Socket[] = [];
let connections = 0;
let t: SshTarget;
// A server-side reset reads as either, depending on which the client sees first.
const DROP = /^(the server closed the connection|read ECONNRESET)$/;

before(async () => {
  if (!haveSshKeygen) return;
  const host = keygen('host');
  const client = keygen('client');
  server = new ssh2.Server({ hostKeys: [host.priv] }, (c) => {
    connections++;
    c.on('authentication', (ctx) => ctx.accept());
    c.on('error', () => {});
    c.on('ready', () =>
      c.on('session', (accept) =>
        accept().on('exec', (acc, _rej, { command }) => {
          const s = acc();
          // `sleep`: never answers (the test drops the connection under it); anything else echoes.
          if (command.startsWith('sleep')) return;
          s.write(`ran ${command}\n`);
          s.exit(0);
          s.end();
        }),
      ),
    );
  });
  // ssh2's Server exposes the net server's connection event through its internal server.
  (server as unknown as { _srv: { on(e: string, f: (s: Socket) => void): void } })._srv.on('connection', (sock) => sockets.push(sock));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, `[127.0.0.1]:${port} ${host.pub[0]} ${host.pub[1]}\n`);
  t = { host: '127.0.0.1', alias: 'login', port, user: 'mlops', keyPath: client.path, knownHostsPath: kh, hostKeyCheck: 'strict' };
});
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Cut every open TCP connection from the server side, as a restarted sshd or a firewall would. */
async function dropAll() {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
}

/** A connection to the test server with `reconnects` granted, closed after `body` whatever happens. */
async function withConnection(reconnects: number, body: (conn: Awaited<ReturnType<typeof SshConnection.connect>>) => Promise<void>) {
  const conn = await SshConnection.connect(t);
  conn.reconnectsLeft = reconnects;
  try {
    await body(conn);
  } finally {
    conn.close();
  }
}

test('with one reconnect granted, the command after a drop reconnects and runs; the drop is recorded', { skip }, async () => {
  await withConnection(1, async (conn) => {
    assert.equal(await conn.run(['echo', 'one']), 'ran echo one\n');
    const before = connections;
    await dropAll();
    assert.equal(await conn.run(['echo', 'two']), 'ran echo two\n');
    assert.equal(connections, before + 1);
    assert.equal(conn.reconnectsLeft, 0);
    assert.equal(conn.reconnections.length, 1);
    const r = conn.reconnections[0]!;
    assert.ok(r.reconnectedAt >= r.droppedAt);
    assert.match(r.why, DROP);
  });
});

test('a second drop with no reconnect left is a ConnectionLostError naming the target, both drops and the fix', { skip }, async () => {
  await withConnection(1, async (conn) => {
    await dropAll();
    await conn.run(['true']);
    await dropAll();
    const before = connections;
    const e = await conn.run(['true']).catch((x: Error) => x);
    assert.ok(e instanceof ConnectionLostError, String(e));
    assert.match(
      e.message,
      /^INFRA: SSH connection to mlops@login:\d+ dropped at \d\d:\d\d:\d\d UTC \((the server closed the connection|read ECONNRESET)\), after it had already been re-established once \(dropped at \d\d:\d\d:\d\d UTC\); not reconnected again\. Fix: check the login node's sshd/,
    );
    assert.equal(connections, before, 'no new connection attempted');
  });
});

test('a command cut off by the drop fails (it is not re-sent); with no reconnect granted the next one fails at once', { skip }, async () => {
  await withConnection(0, async (conn) => {
    const cut = conn.exec(['sleep', '60']).catch((x: Error) => x);
    await new Promise((r) => setTimeout(r, 200));
    await dropAll();
    const e = await cut;
    assert.ok(e instanceof Error && !(e instanceof ConnectionLostError), String(e));
    assert.match(e.message, /^INFRA: SSH connection to mlops@login:\d+ dropped \((the server closed the connection|read ECONNRESET)\) while running: sleep 60$/);
    const next = await conn.run(['true']).catch((x: Error) => x);
    assert.ok(next instanceof ConnectionLostError);
    assert.doesNotMatch(next.message, /already been re-established/);
  });
});

test('when the server is gone, the granted reconnect fails naming the drop and the refusal', { skip }, async () => {
  await withConnection(1, async (conn) => {
    const closed = new Promise<void>((r) => server!.close(() => r())); // stops listening; settles once the last connection is gone
    server = undefined; // closed: \`after\` has nothing to close
    await dropAll();
    await closed;
    const e = await conn.readFile('/etc/hostname').catch((x: Error) => x);
    assert.ok(e instanceof ConnectionLostError, String(e));
    assert.match(e.message, /dropped at .* \((the server closed the connection|read ECONNRESET)\); reconnecting failed: SSH to mlops@127\.0\.0\.1:\d+: connection refused/);
    assert.equal(conn.reconnectsLeft, 0);
  });
});
