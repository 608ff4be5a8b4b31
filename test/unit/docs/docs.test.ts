import { anchors, brokenLink, markdownFiles, read, relativeLinks } from './markdown';

/** The settings infra/config.ts reads: the keys of its schema (`    NAME: z...`). */
function configKeys(): string[] {
  return [...read('infra/config.ts').matchAll(/^ {4}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1]);
}

describe('docs', () => {
  it('documents every setting infra/config.ts reads in docs/configuration.md', () => {
    const keys = configKeys();
    expect(keys.length).toBeGreaterThan(40);
    const documented = read('docs/configuration.md');
    expect(keys.filter((key) => !documented.includes(`\`${key}\``))).toEqual([]);
  });

  it('resolves every relative link and #anchor in README.md and docs/', () => {
    const broken = markdownFiles().flatMap((file) =>
      relativeLinks(read(file))
        .map((target) => brokenLink(file, target))
        .filter((problem) => problem !== undefined),
    );
    expect(broken).toEqual([]);
  });

  it('keeps the README a front door of at most 200 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(200);
  });

  it('reads anchors the way GitHub writes them', () => {
    const headings = '# Admin (`Authorization: Bearer <ADMIN_TOKEN>`)\n## Notes\n## Notes\n```\n# not a heading\n```\n';
    expect([...anchors(headings)]).toEqual(['admin-authorization-bearer-admin_token', 'notes', 'notes-1']);
  });

  it('finds a link to a missing file or heading', () => {
    expect(brokenLink('README.md', 'docs/api.md#no-such-heading')).toContain('no heading');
    expect(brokenLink('docs/api.md', 'nowhere.md')).toContain('no file');
    expect(brokenLink('docs/api.md', 'channels.md')).toBeUndefined();
  });
});
