/** A listening Unix socket that stands in for an ssh-agent in config tests (MLV_SSH_AGENT must be a socket). */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'mlv-agent-'));
export const AGENT_SOCKET = join(dir, 'agent.sock');
const server = createServer();
await new Promise<void>((ok) => server.listen(AGENT_SOCKET, ok));
server.unref();
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});
