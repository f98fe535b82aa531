/**
 * Peer exchange (PEX): what makes an address in a PEERS frame (frames.ts) acceptable.
 *
 * An address is where an always-on peer accepts WebSocket connections, so only `ws:` and
 * `wss:` urls with a host pass, at most 256 bytes of utf8, and never with credentials (a url
 * with `user:pass@` would make the dialler send a secret chosen by a stranger). Whether a
 * private or loopback address may be dialled is the connection manager's decision (net), not
 * the codec's: it depends on the person's configuration.
 *
 * The replicator does not decide whom to tell about: callers send PEERS with
 * `Connection.sendPeers` and read them from the replicator's `peers` events.
 */

/** The longest url a PEERS entry holds (utf8 bytes). */
const MAX_URL_BYTES = 256

/** True when `url` is a `ws:` or `wss:` address with a host, no credentials, at most 256 bytes utf8. */
export function isPeerUrl(url: unknown): url is string {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL_BYTES) return false
  if (new TextEncoder().encode(url).length > MAX_URL_BYTES) return false
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return false
  }
  return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname !== '' && u.username === '' && u.password === ''
}
