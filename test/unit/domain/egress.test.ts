import { classifyAddress, refusedUrl, type EgressPolicy } from '../../../domain/egress';

const STRICT: EgressPolicy = { allowPrivateNetworks: false, allowHttp: false };
const DEVELOPMENT: EgressPolicy = { allowPrivateNetworks: true, allowHttp: true };

describe('egress rules', () => {
  it.each([
    ['8.8.8.8', 'PUBLIC'],
    ['2606:4700::1111', 'PUBLIC'],
    ['169.254.169.254', 'LINK_LOCAL'],
    ['169.254.0.1', 'LINK_LOCAL'],
    ['fe80::1', 'LINK_LOCAL'],
    ['fe80::1%eth0', 'LINK_LOCAL'],
    ['::ffff:169.254.169.254', 'LINK_LOCAL'],
    ['127.0.0.1', 'PRIVATE'],
    ['127.255.0.9', 'PRIVATE'],
    ['10.1.2.3', 'PRIVATE'],
    ['172.16.0.1', 'PRIVATE'],
    ['172.31.255.255', 'PRIVATE'],
    ['192.168.1.1', 'PRIVATE'],
    ['100.64.0.1', 'PRIVATE'],
    ['0.0.0.0', 'PRIVATE'],
    ['::1', 'PRIVATE'],
    ['::', 'PRIVATE'],
    ['fc00::1', 'PRIVATE'],
    ['fd12:3456::1', 'PRIVATE'],
    ['::ffff:127.0.0.1', 'PRIVATE'],
    ['::ffff:7f00:1', 'PRIVATE'],
    ['0x7f000001', 'PRIVATE'],
    ['2130706433', 'PRIVATE'],
    ['172.32.0.1', 'PUBLIC'],
  ])('classifies %s as %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'https://169.254.169.254/',
    'https://[fe80::1]/deliveries',
    'https://[::ffff:a9fe:a9fe]/',
  ])('refuses the link-local URL %s even where private networks and http are allowed', (url) => {
    expect(refusedUrl(url, DEVELOPMENT)).toMatch(/link-local/);
  });

  it.each([
    'https://127.0.0.1:5432/',
    'https://[::1]/',
    'https://0x7f000001/',
    'https://2130706433/',
    'https://127.1/',
    'https://10.0.0.8/deliveries',
    'https://[fd00::1]/',
    'https://0.0.0.0/',
    'https://[::ffff:127.0.0.1]/',
  ])('refuses the private or loopback URL %s unless private networks are allowed', (url) => {
    expect(refusedUrl(url, STRICT)).toMatch(/private or loopback/);
    expect(refusedUrl(url, DEVELOPMENT)).toBeUndefined();
  });

  it('refuses credentials in a URL under any policy', () => {
    expect(refusedUrl('https://user:pw@game.example.com/deliveries', DEVELOPMENT)).toMatch(/credentials/);
    expect(refusedUrl('https://user@game.example.com/deliveries', DEVELOPMENT)).toMatch(/credentials/);
  });

  it('requires https unless plain http is allowed', () => {
    expect(refusedUrl('http://game.example.com/deliveries', STRICT)).toMatch(/https is required/);
    expect(refusedUrl('http://game.example.com/deliveries', DEVELOPMENT)).toBeUndefined();
  });

  it('refuses schemes other than http(s) and strings that are not URLs', () => {
    expect(refusedUrl('file:///etc/passwd', DEVELOPMENT)).toMatch(/not http/);
    expect(refusedUrl('gopher://game.example.com/', DEVELOPMENT)).toMatch(/not http/);
    expect(refusedUrl('not a url', DEVELOPMENT)).toBe('not a URL');
  });

  it('leaves a public name to be judged by what it resolves to', () => {
    expect(refusedUrl('https://game.example.com/deliveries', STRICT)).toBeUndefined();
    expect(refusedUrl('https://8.8.8.8/deliveries', STRICT)).toBeUndefined();
  });
});
