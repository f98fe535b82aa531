/**
 * Browser to browser over WebRTC: what the page (which alone has `RTCPeerConnection`) and the
 * engine's worker (which verifies and stores) say to each other, what two browsers say through
 * the neighbour that relays their signalling, and the channel binding.
 *
 * Who does what
 * - The worker decides whom to connect to (engine/rtc.ts): browsers a neighbour said it can
 *   reach (`peers` entries without a URL). It asks its page to `dial`, relays signals between
 *   the page and the replicator's SIGNAL frames, and receives each open data channel as a
 *   MessagePort, on which it runs the same replication as over WebSocket.
 * - The page (rtc/page.ts) makes the offers and answers. ICE is not trickled: an offer or answer
 *   is sent once its candidates are gathered (on a LAN or with a STUN server that is at most a
 *   few seconds), so one exchange of two signals opens a connection.
 * - Binding: each side reads the DTLS fingerprints of both descriptions (`a=fingerprint`), and
 *   both go into the replication handshake's prologue (sorted, so both sides agree). The
 *   neighbour that relayed the offer could swap in its own fingerprints to sit in the middle of
 *   DTLS, but then the two sides bind different bytes and the Noise handshake fails: it cannot
 *   answer as either person without their key.
 */

/** A signal between two browsers, relayed by a neighbour (JSON in the SIGNAL frame's payload). */
export type RtcSignal =
  | { readonly v: 1; readonly t: 'offer'; readonly id: string; readonly sdp: string }
  | { readonly v: 1; readonly t: 'answer'; readonly id: string; readonly sdp: string }
  | { readonly v: 1; readonly t: 'bye'; readonly id: string }

/** Worker to page. `remote` is a feed id in hex. */
export type RtcToPage =
  | {
      readonly rtc: 'config'
      readonly iceServers: readonly RTCIceServer[]
      /** WebTorrent-protocol WebSocket trackers to meet other browsers through (rtc/tracker.ts). */
      readonly trackers: readonly string[]
      /** The trackers' info_hash: 20 bytes (hex) derived from the network key ({@link trackerTopic}). */
      readonly topic: string
      /** This browser's feed id (hex): a tracker meeting with itself is not a peer. */
      readonly me: string
    }
  | { readonly rtc: 'dial'; readonly remote: string }
  | { readonly rtc: 'signal'; readonly from: string; readonly signal: RtcSignal }
  | { readonly rtc: 'hangup'; readonly remote: string }

/** Page to worker. */
export type RtcFromPage =
  | { readonly rtc: 'signal'; readonly to: string; readonly signal: RtcSignal }
  | {
      readonly rtc: 'open'
      /** The feed signalled with; absent for a browser met through a tracker (who it is comes from the handshake). */
      readonly remote?: string
      readonly initiator: boolean
      /** Both DTLS fingerprints (see {@link channelBinding}). */
      readonly binding: Uint8Array
      /** The data channel's frames: ArrayBuffers both ways, and {@link PortControl} objects. */
      readonly port: MessagePort
    }
  | { readonly rtc: 'failed'; readonly remote: string; readonly reason: string }

/**
 * What travels on an open channel's MessagePort besides frames (ArrayBuffers): the page says
 * how much the data channel still buffers after each frame it sent (backpressure), and either
 * side may close.
 */
export type PortControl = { readonly sent: number; readonly buffered: number } | { readonly close: string }

/** The largest signal payload (bytes of JSON): an SDP with a few candidates is 1–4 KB. */
export const MAX_SIGNAL_BYTES = 16_384

/** The DTLS fingerprints (`sha-256 AB:CD:…`) an SDP names, lowercased, sorted. */
export function sdpFingerprints(sdp: string): string[] {
  const out = new Set<string>()
  for (const m of sdp.matchAll(/^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/gm)) {
    out.add(`${(m[1] as string).toLowerCase()} ${(m[2] as string).toLowerCase()}`)
  }
  return [...out].sort()
}

/**
 * The channel binding of a WebRTC connection: both descriptions' DTLS fingerprints, sorted, so
 * both ends compute the same bytes. Undefined when either description names none (then the
 * connection is not used: it could not be told from a relayed one).
 */
export function channelBinding(localSdp: string, remoteSdp: string): Uint8Array | undefined {
  const local = sdpFingerprints(localSdp)
  const remote = sdpFingerprints(remoteSdp)
  if (local.length === 0 || remote.length === 0) return undefined
  return new TextEncoder().encode(`murmur/webrtc/v1\n${[...local, ...remote].sort().join('\n')}`)
}

/** Parses a signal from a peer; undefined for anything malformed (it is dropped). */
export function parseSignal(payload: Uint8Array): RtcSignal | undefined {
  if (payload.length > MAX_SIGNAL_BYTES) return undefined
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null) return undefined
  const s = v as Record<string, unknown>
  if (s.v !== 1 || typeof s.id !== 'string' || s.id.length === 0 || s.id.length > 64) return undefined
  if (s.t === 'bye') return { v: 1, t: 'bye', id: s.id }
  if ((s.t === 'offer' || s.t === 'answer') && typeof s.sdp === 'string' && s.sdp.length > 0)
    return { v: 1, t: s.t, id: s.id, sdp: s.sdp }
  return undefined
}

/** A signal as the SIGNAL frame's payload. */
export function encodeSignal(signal: RtcSignal): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(signal))
}

/**
 * The info_hash under which browsers of one network meet on WebTorrent trackers: the first 20
 * bytes of sha-256("murmur/tracker/v1" ‖ network key), hex. Derived from the network key, so
 * private networks meet only each other, and nothing about a person is in it.
 */
export async function trackerTopic(
  networkKey: Uint8Array,
  subtle: SubtleCrypto = globalThis.crypto.subtle,
): Promise<string> {
  const label = new TextEncoder().encode('murmur/tracker/v1')
  const input = new Uint8Array(label.length + networkKey.length)
  input.set(label)
  input.set(networkKey, label.length)
  const digest = new Uint8Array(await subtle.digest('SHA-256', input))
  return [...digest.subarray(0, 20)].map((b) => b.toString(16).padStart(2, '0')).join('')
}
