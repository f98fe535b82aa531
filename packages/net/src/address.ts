/**
 * Where a host is, judged from its text alone (no DNS): so that an address learned from the
 * network can be refused before it is dialled when it points into the dialler's own machine or
 * network (a stranger must not be able to make a peer probe its LAN, its router's admin page or
 * services on localhost: SSRF by announcement). Browser-safe: only `URL`, no Node imports.
 *
 * A host is first put in the form a WebSocket would dial, by the WHATWG URL parser that both
 * browsers and `ws` use: `0x7f.1`, `2130706433` and `127.0.0.1.` all become `127.0.0.1`, IPv6 is
 * lowercased and compressed, IDNs become punycode. Then IP literals are checked against the
 * special-purpose ranges (RFC 6890 and its updates), IPv4 embedded in IPv6 (mapped `::ffff:0:0/96`,
 * compatible `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) by its IPv4 address, and names
 * against the suffixes that only resolve locally. A public-looking name can still resolve to a
 * private address (DNS rebinding): only a check of the resolved address, where the platform
 * allows one, closes that.
 */

/**
 * What kind of address a host is: `public` (worth dialling across the internet), `loopback`
 * (this machine), `private` (RFC 1918, RFC 6598 shared, IPv6 unique-local), `link-local`,
 * `local-name` (`localhost`, `*.local` and other names only a local resolver answers),
 * `reserved` (unspecified, "this network", multicast, broadcast, future use) or `invalid`.
 */
export type HostScope = 'public' | 'loopback' | 'private' | 'link-local' | 'local-name' | 'reserved' | 'invalid'

// Names that only a local resolver answers: RFC 6761 (localhost), RFC 6762 (.local, mDNS),
// RFC 8375 (home.arpa), ICANN's reserved .internal, and the common home-router .lan.
const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa', '.lan']

/**
 * Classifies `host`: a host name, an IPv4 address, or an IPv6 address with or without brackets
 * (and with or without a `%zone`), as found in a URL or a socket's remote address.
 */
export function hostScope(host: string): HostScope {
  const canonical = canonicalHost(host)
  if (canonical === undefined) return 'invalid'
  if (canonical.startsWith('[')) {
    const groups = parseIPv6(canonical.slice(1, -1))
    return groups === undefined ? 'invalid' : ipv6Scope(groups)
  }
  const v4 = parseIPv4(canonical)
  if (v4 !== undefined) return ipv4Scope(v4)
  // A name. One without a dot is resolved through the local search domains (an intranet host).
  if (canonical === 'localhost' || !canonical.includes('.')) return 'local-name'
  return LOCAL_SUFFIXES.some((s) => canonical.endsWith(s)) ? 'local-name' : 'public'
}

/** True when `host` is {@link hostScope | public}: not private, loopback, local or reserved. */
export function isPublicHost(host: string): boolean {
  return hostScope(host) === 'public'
}

/**
 * A key that is the same for every spelling of one host (`::ffff:1.2.3.4`, `1.2.3.4`,
 * `[::FFFF:102:304]`; names lowercased, without a trailing dot), for counting connections
 * per remote address; `undefined` for a host that is not valid.
 */
export function hostKey(host: string): string | undefined {
  const canonical = canonicalHost(host)
  if (canonical === undefined || !canonical.startsWith('[')) return canonical
  const groups = parseIPv6(canonical.slice(1, -1))
  if (groups === undefined) return undefined
  const v4 = embeddedIPv4(groups, false)
  return v4 === undefined ? groups.map((g) => g.toString(16)).join(':') : v4.join('.')
}

/** The host as the WHATWG URL parser writes it (IPv6 in brackets), without a trailing dot. */
function canonicalHost(host: string): string | undefined {
  let h = host.trim()
  if (h === '' || /[\s/?#@\\]/.test(h)) return undefined
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  // A zone (fe80::1%eth0) names an interface of this machine; the URL parser refuses it.
  if (h.includes(':')) h = `[${h.replace(/%.*$/, '')}]`
  let parsed: string
  try {
    parsed = new URL(`ws://${h}/`).hostname
  } catch {
    return undefined
  }
  if (parsed === '') return undefined
  return parsed.endsWith('.') ? parsed.slice(0, -1) : parsed
}

function parseIPv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (!m) return undefined
  const bytes = m.slice(1).map(Number)
  return bytes.every((b) => b <= 255) ? bytes : undefined
}

/** Eight 16-bit groups, or undefined. Accepts `::` and a dotted IPv4 tail. */
function parseIPv6(text: string): number[] | undefined {
  let tail: number[] = []
  let body = text
  const dotted = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(body)
  if (dotted?.[1] !== undefined) {
    const v4 = parseIPv4(dotted[1])
    if (v4 === undefined) return undefined
    tail = [((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number)]
    body = body.slice(0, -dotted[1].length)
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1)
  }
  const halves = body.split('::')
  if (halves.length > 2) return undefined
  const part = (s: string) => (s === '' ? [] : s.split(':'))
  const head = part(halves[0] as string)
  const rest = halves.length === 2 ? part(halves[1] as string) : []
  const given = head.length + rest.length + tail.length
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined
  const groups: number[] = []
  for (const g of [...head, ...Array<string>(8 - given).fill('0'), ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    groups.push(Number.parseInt(g, 16))
  }
  return [...groups, ...tail]
}

function ipv4Scope([a, b]: number[]): HostScope {
  if (a === undefined || b === undefined) return 'invalid'
  if (a === 127) return 'loopback'
  if (a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168)) return 'private'
  if (a === 100 && b >= 64 && b < 128) return 'private' // RFC 6598 shared (carrier-grade NAT)
  if (a === 169 && b === 254) return 'link-local'
  if (a === 0 || a >= 224) return 'reserved' // "this network"; multicast, future use, broadcast
  return 'public'
}

/**
 * The IPv4 address carried in an IPv6 one: IPv4-mapped `::ffff:a.b.c.d` (always), and when
 * `all`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:AABB:CCDD::`.
 */
function embeddedIPv4(g: number[], all: boolean): number[] | undefined {
  const v4 = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  if (zero(0, 5) && g[5] === 0xffff) return v4(g[6] as number, g[7] as number)
  if (!all) return undefined
  // ::/96 except :: and ::1 (IPv4-compatible, deprecated by RFC 4291 but still routed by some stacks).
  if (zero(0, 6) && ((g[6] as number) !== 0 || (g[7] as number) > 1)) return v4(g[6] as number, g[7] as number)
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(g[6] as number, g[7] as number)
  if (g[0] === 0x2002) return v4(g[1] as number, g[2] as number)
  return undefined
}

function ipv6Scope(g: number[]): HostScope {
  const first = g[0] as number
  if (g.every((x) => x === 0)) return 'reserved' // :: (unspecified)
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback' // ::1
  const v4 = embeddedIPv4(g, true)
  if (v4 !== undefined) return ipv4Scope(v4)
  if ((first & 0xfe00) === 0xfc00) return 'private' // fc00::/7 unique-local
  if ((first & 0xffc0) === 0xfe80) return 'link-local' // fe80::/10
  if ((first & 0xffc0) === 0xfec0) return 'private' // fec0::/10 site-local (deprecated, still private)
  if ((first & 0xff00) === 0xff00) return 'reserved' // ff00::/8 multicast
  return 'public'
}
