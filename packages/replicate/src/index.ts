/**
 * @murmur/replicate — Murmur's wire protocol over any ordered message channel: a Noise
 * handshake keyed by the network key, want/have clocks, catch-up then live streaming under
 * credit-based flow control, relay and hosting, blobs in chunks, and limits that disconnect
 * misbehaving peers. Start with {@link Replicator} (the design note is in replicator.ts).
 */
export { type Channel, MAX_FRAME, type MemoryChannelOptions, memoryChannelPair } from './channel.js'
export type { ConnectionState, ConnectOptions, PeerStatus, Progress } from './connection.js'
export { Connection } from './connection.js'
export {
  type ClockEntry,
  decodeFrame,
  encodeClock,
  encodeHave,
  encodeMsgs,
  encodePeers,
  encodeRequest,
  encodeSignal,
  FEATURE,
  FEATURES,
  type Frame,
  type FrameError,
  type GossipMode,
  MAX_PEER_URL,
  MAX_PLAINTEXT,
  MAX_SIGNAL_PAYLOAD,
  PEERS_PER_FRAME,
  type PeerEntry,
  PROTOCOL_VERSION,
  type RequestEntry,
  type SignalFrame,
  WIRE,
} from './frames.js'
export {
  Handshake,
  type HandshakeOptions,
  type HandshakeStep,
  PUBLIC_NETWORK_KEY,
  type SessionKeys,
} from './handshake.js'
export {
  DEFAULT_LIMITS,
  type Limits,
  type PeerCounters,
  REJECT_REASONS,
  type RejectReason,
} from './limits.js'
export {
  blobLinks,
  type ForkSeen,
  type GossipOptions,
  Replicator,
  type ReplicatorEvent,
  type ReplicatorOptions,
  type ReplicatorStatus,
  type TailOptions,
} from './replicator.js'
export { type CloseCode, type CloseInfo, Session, type SessionHandlers, type SessionOptions } from './session.js'
export type { HostMode, WantedFeed } from './wants.js'
