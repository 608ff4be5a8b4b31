import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * `npm run test:model -- --runs N [--level 1] [--seed S --path P] [--max-commands M] [--time-limit-s T]
 * [--failures-file F]`: the model-based tests with more runs than CI's (jest refuses unknown flags, so
 * they go as MODEL_* settings). Failing seeds are appended to the failures file (default
 * .data/model-failures.jsonl). Level 2 (end to end through the Harness) is not built yet.
 */
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '500' },
    level: { type: 'string', default: '1' },
    seed: { type: 'string' },
    path: { type: 'string' },
    'replay-path': { type: 'string' },
    'max-commands': { type: 'string' },
    'time-limit-s': { type: 'string' },
    'failures-file': { type: 'string', default: path.join('.data', 'model-failures.jsonl') },
    'no-shrink': { type: 'boolean', default: false },
  },
});

if (values.level !== '1') {
  console.error(`level ${values.level}: only level 1 (test/model/purchase.model.test.ts) exists so far`);
  process.exit(2);
}
const settings: Record<string, string | undefined> = {
  MODEL_RUNS: values.runs,
  MODEL_SEED: values.seed,
  MODEL_PATH: values.path,
  MODEL_REPLAY_PATH: values['replay-path'],
  MODEL_MAX_COMMANDS: values['max-commands'],
  MODEL_TIME_LIMIT_MS: values['time-limit-s'] === undefined ? undefined : String(Number(values['time-limit-s']) * 1000),
  MODEL_FAILURES_FILE: path.resolve(values['failures-file']!),
  MODEL_SHRINK: values['no-shrink'] ? '0' : undefined,
};
const env = { ...process.env };
for (const [key, value] of Object.entries(settings)) if (value !== undefined) env[key] = value;
console.log(Object.entries(settings).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(' '));

const started = Date.now();
const jest = spawnSync(
  'npx',
  ['jest', 'test/model/purchase.model.test.ts', '--selectProjects', 'system', '--forceExit', '-t', 'random event orders'],
  { stdio: 'inherit', env },
);
console.log(`model runs finished in ${((Date.now() - started) / 1000).toFixed(0)} s (exit ${jest.status})`);
process.exit(jest.status ?? 1);
