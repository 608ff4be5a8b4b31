/**
 * IP addresses and networks as the risk rules see them: an address, its subnet (IPv4 /24, IPv6
 * /48) and every network containing it, each in one canonical text form, so that a digest of that
 * form (never the address itself) can be stored, counted and looked up.
 */

export interface IpAddress {
  version: 4 | 6;
  /** The address as an unsigned integer of 32 or 128 bits. */
  bits: bigint;
}

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseV4(text: string): bigint | undefined {
  if (!V4.test(text)) return undefined;
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined;
  let groups: string[] = [];
  let tail = text;
  // An IPv4 tail (::ffff:1.2.3.4) makes the last two groups.
  const lastColon = tail.lastIndexOf(':');
  let v4tail: bigint | undefined;
  if (tail.includes('.')) {
    v4tail = parseV4(tail.slice(lastColon + 1));
    if (v4tail === undefined) return undefined;
    tail = tail.slice(0, lastColon + 1) + '0:0';
  }
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  const head = split(halves[0]!);
  const rest = halves.length === 2 ? split(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  let bits = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (v4tail !== undefined) bits = (bits & ~0xffffffffn) | v4tail;
  return bits;
}

/** An IPv4 or IPv6 address (an IPv4-mapped IPv6 address is its IPv4 address), or undefined. */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { version: 4, bits: v4 };
  const v6 = parseV6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { version: 4, bits: v6 & 0xffffffffn };
  return { version: 6, bits: v6 };
}

const width = (version: 4 | 6) => (version === 4 ? 32 : 128);

function format(ip: IpAddress): string {
  if (ip.version === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.bits >> s) & 255n)).join('.');
  // Eight full groups, no compression: one form per address.
  return Array.from({ length: 8 }, (_, i) => ((ip.bits >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

/** The canonical text of the network of `prefix` bits containing `ip`: `<address>/<prefix>`. */
export function networkOf(ip: IpAddress, prefix: number): string {
  const w = width(ip.version);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(w - prefix);
  return `${format({ version: ip.version, bits: ip.bits & mask })}/${prefix}`;
}

/** The canonical text of an address. */
export const canonicalIp = (ip: IpAddress) => format(ip);

/** The subnet velocity rules count by: IPv4 /24, IPv6 /48. */
export const subnetOf = (ip: IpAddress) => networkOf(ip, ip.version === 4 ? 24 : 48);

/** Every network containing `ip`, /0 to the full address, in canonical form (for CIDR blacklist look-ups). */
export function networksContaining(ip: IpAddress): string[] {
  return Array.from({ length: width(ip.version) + 1 }, (_, prefix) => networkOf(ip, prefix));
}

/** A CIDR block (`10.0.0.0/8`, `2001:db8::/32`) in canonical form, or undefined. Host bits must be zero. */
export function parseCidr(text: string): string | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  // An IPv4-mapped block counts in IPv4 bits.
  const mappedShift = ip.version === 4 && text.slice(0, slash).includes(':') ? 96 : 0;
  const effective = prefix - mappedShift;
  if (effective < 0 || effective > width(ip.version)) return undefined;
  const canonical = networkOf(ip, effective);
  return canonical.split('/')[0] === format(ip) ? canonical : undefined;
}
