import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const SCHEMA = join(root, 'console', 'src', 'client', 'schema.d.ts');

describe("the console's typed API client", () => {
  it('is generated from the OpenAPI document the API serves (run `npm run console:api` after changing a route)', () => {
    // A child process: openapi-typescript loads ES modules that jest's CommonJS runtime cannot.
    const generated = execFileSync(join(root, 'node_modules', '.bin', 'tsx'), ['scripts/console-api.ts', '--print'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(generated.length).toBeGreaterThan(1000);
    const committed = readFileSync(SCHEMA, 'utf8');
    expect(committed === generated ? 'in step' : 'drifted: run npm run console:api').toBe('in step');
  });
});
