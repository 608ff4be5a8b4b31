import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');

/** README.md and every markdown file in docs/, as paths relative to the repository. */
export function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));
  return ['README.md', ...docs.map((name) => `docs/${name}`)];
}

export const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Text outside fenced code blocks (a link inside a sample is not a link). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** Every relative link target of a markdown file: `[text](target)`, without external URLs. */
export function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** Why a link of `from` does not resolve, or undefined when it does. */
export function brokenLink(from: string, target: string): string | undefined {
  const [pathPart, anchor] = target.split('#', 2);
  const file = pathPart === '' ? from : relative(ROOT, join(ROOT, dirname(from), pathPart));
  if (!existsSync(join(ROOT, file))) return `${from}: ${target} (no file ${file})`;
  if (anchor === undefined || !file.endsWith('.md')) return undefined;
  return anchors(read(file)).has(anchor) ? undefined : `${from}: ${target} (no heading #${anchor} in ${file})`;
}
