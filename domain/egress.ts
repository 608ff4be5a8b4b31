import ipaddr from 'ipaddr.js';

/**
 * Where an outbound call may go: the pure rules of the egress guard (`infra/egress.ts` applies them to
 * every URL we call and to every address a name resolves to, at connect time).
 */

/** PUBLIC: anyone's; PRIVATE: this host or an internal network (loopback, private, CGNAT, unique-local, unspecified, ...); LINK_LOCAL: never (cloud metadata lives there). */
export type AddressClass = 'PUBLIC' | 'PRIVATE' | 'LINK_LOCAL';

export interface EgressPolicy {
  /** Loopback and private ranges (development, tests and local fakes need them). */
  allowPrivateNetworks: boolean;
  /** Plain http (development only: anything else must speak https). */
  allowHttp: boolean;
}

/** Classifies an IP address in any notation `ipaddr.js` parses; IPv4-mapped IPv6 counts as its IPv4 address. */
export function classifyAddress(address: string): AddressClass {
  let parsed = ipaddr.parse(bare(address));
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'linkLocal') return 'LINK_LOCAL';
  // Everything but plain unicast (loopback, private, unique-local, CGNAT, unspecified, multicast,
  // reserved, and the IPv6 forms that embed an IPv4 address) is kept for internal use.
  return range === 'unicast' ? 'PUBLIC' : 'PRIVATE';
}

/** Why an address may not be connected to under the policy, or undefined when it may (the reason names no address: it may be shown). */
export function refusedAddress(address: string, policy: EgressPolicy): string | undefined {
  if (!ipaddr.isValid(bare(address))) return 'not an IP address';
  const kind = classifyAddress(address);
  if (kind === 'LINK_LOCAL') return 'a link-local address (refused always)';
  if (kind === 'PRIVATE' && !policy.allowPrivateNetworks) return 'a private or loopback address';
  return undefined;
}

/**
 * Why a URL may not be called under the policy, or undefined when it may. A literal IP host is
 * judged here (the WHATWG parser has already turned `0x7f000001`, `2130706433` and `127.1` into
 * 127.0.0.1); a name is judged again by the addresses it resolves to, when connecting.
 */
export function refusedUrl(url: string | URL, policy: EgressPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `${parsed.protocol} is not http(s)`;
  if (parsed.protocol === 'http:' && !policy.allowHttp) return 'https is required';
  if (parsed.username || parsed.password) return 'credentials in the URL are not allowed';
  const host = bare(parsed.hostname);
  return ipaddr.isValid(host) ? refusedAddress(host, policy) : undefined;
}

/** An address without the brackets of a URL's IPv6 host or an interface's zone (`fe80::1%eth0`). */
function bare(address: string): string {
  return address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
}
