/**
 * Record a real MLflow server's answers to every call of the suite's MLflow client:
 *   node --import tsx scripts/record-mlflow.ts --url http://127.0.0.1:5055 --out tests/recorded/mlflow/mlflow-<version>.json
 * It only talks HTTP to the server it is given (tests/mlflow-scenario.ts through tests/mlflow-recorder.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mlflowScenario } from '../tests/mlflow-scenario.ts';
import { recordingProxy, type Exchange } from '../tests/mlflow-recorder.ts';

const { values } = parseArgs({ options: { url: { type: 'string' }, out: { type: 'string' }, note: { type: 'string', default: '' } } });
if (!values.url || !values.out) {
  console.error('usage: record-mlflow.ts --url <MLflow server> --out <file.json> [--note "how it was built"]');
  process.exit(2);
}
const version = (await (await fetch(new URL('/version', values.url))).text()).trim();
const exchanges: Exchange[] = [];
const proxy = await recordingProxy(values.url, exchanges);
const suffix = 'rec';
try {
  const errors = await mlflowScenario(proxy.url, suffix);
  writeFileSync(values.out, JSON.stringify({ server: { kind: 'mlflow', version, note: values.note, recordedAt: new Date().toISOString() }, suffix, errors, exchanges }, null, 1) + '\n');
  console.log(`${exchanges.length} exchanges from MLflow ${version} written to ${values.out}; typed errors: ${errors.join('; ')}`);
} finally {
  proxy.close();
}
