import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const CONSOLE = join(ROOT, 'console');

function newestChange(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the console (console/dist) unless it is newer than every one of its sources. */
export function ensureConsoleBuilt(log: (m: string) => void): void {
  let built = 0;
  try {
    built = statSync(join(CONSOLE, 'dist', 'index.html')).mtimeMs;
  } catch {
    // never built
  }
  const sources = Math.max(newestChange(join(CONSOLE, 'src')), statSync(join(CONSOLE, 'index.html')).mtimeMs, statSync(join(CONSOLE, 'vite.config.mts')).mtimeMs);
  if (built > sources) return;
  log('building the console (npm run build:console)');
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(CONSOLE, 'vite.config.mts')], {
    cwd: ROOT,
    stdio: 'inherit',
    // Vite follows NODE_ENV: under Jest (test) or npm run dev (development) it would build React's
    // development bundle (StrictMode's doubled effects, its checks). The console is always the production build.
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (result.status !== 0) throw new Error('the console build failed (npm run build:console)');
}
