#!/usr/bin/env node
// npx mlv-pipeline run [--release] [--keep] | rollback [--to N] | status | down: see scripts/mlv-pipeline.ts
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/mlv-pipeline.ts'), ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
