import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { buildOpenApiDocument } from '../../api/openapi';

/** The console's typed client is generated from the document the API serves in production (no sandbox). */
export const CONSOLE_SCHEMA = join(__dirname, '..', '..', 'console', 'src', 'client', 'schema.d.ts');

const HEADER = '// Generated from /openapi.json by `npm run console:api` (scripts/lib/console-api.ts): do not edit.\n';

export async function consoleApiTypes(): Promise<string> {
  const document = JSON.parse(JSON.stringify(buildOpenApiDocument({ sandbox: false })));
  return HEADER + astToString(await openapiTS(document));
}

export async function writeConsoleApiTypes(): Promise<boolean> {
  const next = await consoleApiTypes();
  let current = '';
  try {
    current = readFileSync(CONSOLE_SCHEMA, 'utf8');
  } catch {
    // first generation
  }
  if (current === next) return false;
  writeFileSync(CONSOLE_SCHEMA, next);
  return true;
}
