import { randomBytes } from 'node:crypto';
import { openPii, parsePiiKeyring, piiDigest, sealPii } from '../../../infra/pii';

const key = () => randomBytes(32).toString('base64');

describe('personal data at rest', () => {
  it('seals a value that only the keyring opens, never in the clear', () => {
    const keyring = parsePiiKeyring(`k1:${key()}`, undefined, key());
    const sealed = sealPii(keyring, '203.0.113.7');
    expect(sealed).toMatch(/^k1:/);
    expect(sealed).not.toContain('203.0.113.7');
    expect(openPii(keyring, sealed)).toBe('203.0.113.7');
    expect(sealPii(keyring, '203.0.113.7')).not.toBe(sealed); // a fresh IV each time
  });

  it('keeps values sealed under an old key readable after rotation', () => {
    const [k1, k2, hash] = [key(), key(), key()];
    const sealed = sealPii(parsePiiKeyring(`k1:${k1}`, undefined, hash), 'device-42');
    const rotated = parsePiiKeyring(`k2:${k2},k1:${k1}`, 'k2', hash);
    expect(openPii(rotated, sealed)).toBe('device-42');
    expect(sealPii(rotated, 'device-42')).toMatch(/^k2:/);
  });

  it('digests equal values of one kind equally, and kinds apart', () => {
    const keyring = parsePiiKeyring(`k1:${key()}`, undefined, key());
    expect(piiDigest(keyring, 'ip', '203.0.113.7')).toBe(piiDigest(keyring, 'ip', '203.0.113.7'));
    expect(piiDigest(keyring, 'ip', '203.0.113.7')).not.toBe(piiDigest(keyring, 'device', '203.0.113.7'));
    expect(piiDigest(parsePiiKeyring(`k1:${key()}`, undefined, key()), 'ip', '203.0.113.7')).not.toBe(piiDigest(keyring, 'ip', '203.0.113.7'));
  });
});
