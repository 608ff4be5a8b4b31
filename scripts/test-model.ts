import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * `npm run test:model -- --runs N [--level 1|2] [--seed S --path P] [--max-commands M] [--time-limit-s T]
 * [--failures-file F]`: the model-based tests with more runs than CI's (jest refuses unknown flags, so
 * they go as MODEL_* settings). Level 1 is the workflow with in-memory books; level 2 the whole system
 * through the Harness's HTTP routes. Failing seeds are appended to the failures file (default
 * .data/model-failures.jsonl).
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

const LEVELS: Record<string, { file: string; test: string; runs: string; maxCommands: string }> = {
  '1': { file: 'test/model/purchase.model.test.ts', test: 'random event orders', runs: 'MODEL_RUNS', maxCommands: 'MODEL_MAX_COMMANDS' },
  '2': { file: 'test/model/purchase.e2e.model.test.ts', test: 'random HTTP call orders', runs: 'MODEL_E2E_RUNS', maxCommands: 'MODEL_E2E_MAX_COMMANDS' },
};
const level = LEVELS[values.level!];
if (!level) {
  console.error(`--level ${values.level}: 1 (the workflow, in-memory books) or 2 (end to end through the HTTP routes)`);
  process.exit(2);
}
const settings: Record<string, string | undefined> = {
  [level.runs]: values.runs,
  MODEL_SEED: values.seed,
  MODEL_PATH: values.path,
  MODEL_REPLAY_PATH: values['replay-path'],
  [level.maxCommands]: values['max-commands'],
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
  ['jest', level.file, '--selectProjects', 'system', '--forceExit', '-t', level.test],
  { stdio: 'inherit', env },
);
console.log(`model runs finished in ${((Date.now() - started) / 1000).toFixed(0)} s (exit ${jest.status})`);
process.exit(jest.status ?? 1);
