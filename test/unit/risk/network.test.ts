import { canonicalIp, networksContaining, parseCidr, parseIp, subnetOf } from '../../../domain/risk/network';

describe('IP addresses and networks', () => {
  it('reads IPv4, IPv6 and IPv4-mapped IPv6 into one canonical form', () => {
    expect(canonicalIp(parseIp('203.0.113.7')!)).toBe('203.0.113.7');
    expect(canonicalIp(parseIp('::ffff:203.0.113.7')!)).toBe('203.0.113.7');
    expect(canonicalIp(parseIp('2001:DB8::1')!)).toBe('2001:db8:0:0:0:0:0:1');
    expect(canonicalIp(parseIp('::')!)).toBe('0:0:0:0:0:0:0:0');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', '1.2.3', '256.1.1.1', '01.2.3.4', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', 'localhost', '1.2.3.4/8']) {
      expect(parseIp(bad)).toBeUndefined();
    }
  });

  it('puts IPv4 in /24 subnets and IPv6 in /48', () => {
    expect(subnetOf(parseIp('203.0.113.7')!)).toBe('203.0.113.0/24');
    expect(subnetOf(parseIp('2001:db8:abcd:12::1')!)).toBe('2001:db8:abcd:0:0:0:0:0/48');
  });

  it('lists every network containing an address, so a CIDR entry is found by equality', () => {
    const nets = networksContaining(parseIp('10.1.2.3')!);
    expect(nets).toHaveLength(33);
    expect(nets).toContain(parseCidr('10.0.0.0/8'));
    expect(nets).toContain(parseCidr('10.1.2.3/32'));
    expect(nets).not.toContain(parseCidr('11.0.0.0/8'));
    expect(networksContaining(parseIp('2001:db8::1')!)).toContain(parseCidr('2001:db8::/32'));
  });

  it('takes CIDR blocks with zero host bits only', () => {
    expect(parseCidr('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(parseCidr('10.0.0.1/8')).toBeUndefined();
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0')).toBeUndefined();
    expect(parseCidr('2001:db8::/129')).toBeUndefined();
  });
});
