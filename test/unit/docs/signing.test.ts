import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { canonicalRequest, signRequest, type SignedRequestParts } from '../../../domain/signature';
import { read } from './markdown';

const page = read('docs/signing.md');
const SECRET = /the secret `([^`]+)`/.exec(page)![1];

interface Vector {
  title: string;
  parts: SignedRequestParts;
  stringToSign: string;
  signature: string;
}

/** Each "### Vector" section: its inputs block, its string-to-sign block and its signature line. */
function vectors(): Vector[] {
  return page
    .split(/^### /m)
    .filter((section) => section.startsWith('Vector'))
    .map((section) => {
      const [inputs, stringToSign] = [...section.matchAll(/^```text\n([\s\S]*?)\n```/gm)].map((block) => block[1]);
      const field = (name: string) => new RegExp(`^${name}:[ ]*(.*)$`, 'm').exec(inputs)![1];
      return {
        title: section.split('\n', 1)[0],
        parts: { method: field('method'), pathWithQuery: field('path'), timestamp: field('timestamp'), nonce: field('nonce'), body: field('body') },
        stringToSign,
        signature: /^Signature: `([0-9a-f]{64})`$/m.exec(section)![1],
      };
    });
}

/** The Node sample of the page, run as a studio would paste it. */
function nodeSample(): { sign: (secret: string, method: string, path: string, timestamp: string, nonce: string, body: string) => string } {
  const code = /^```js\n([\s\S]*?)\n```/m.exec(page)![1];
  return runInNewContext(`${code}\n;({ sign })`, { require, Buffer });
}

describe('docs/signing.md', () => {
  it('holds the four vectors the issue asks for: a GET, a bodiless POST, a query string, a JSON body', () => {
    expect(vectors().map((v) => v.title)).toEqual([
      'Vector 1: a GET (empty body)',
      'Vector 2: a bodiless POST',
      'Vector 3: a query string (a delivery to `https://game.example/deliveries?shard=7&region=cn`)',
      'Vector 4: a JSON body (`POST /v1/orders`)',
    ]);
  });

  it.each(vectors().map((v) => [v.title, v] as const))('%s: its string to sign and signature are what domain/signature.ts computes', (_title, vector) => {
    expect(vector.stringToSign).toBe(canonicalRequest(vector.parts));
    expect(vector.signature).toBe(signRequest(SECRET, vector.parts));
  });

  it('states the hash of the empty body the bodiless vectors use', () => {
    expect(page).toContain(createHash('sha256').update('').digest('hex'));
  });

  it('has a Node sample that signs every vector as domain/signature.ts does', () => {
    const { sign } = nodeSample();
    for (const { parts, signature } of vectors()) {
      expect(sign(SECRET, parts.method, parts.pathWithQuery, parts.timestamp, parts.nonce, parts.body as string)).toBe(signature);
    }
  });
});
