/**
 * @murmur/net — transports for replication. This entry is browser-safe: a WebSocket as a
 * channel, a dialler and a redialer with backoff, the connection manager (`Mesh`) and the
 * address classifier it uses. The Node listener and dialler are in
 * `@murmur/net/node`; finding feeds' holders through the BitTorrent DHT (Node) in `@murmur/net/dht`;
 * a STUN Binding server for always-on peers (Node) in `@murmur/net/stun`.
 */
export { type HostScope, hostKey, hostScope, isPublicHost } from './address.js'
export {
  type DialOptions,
  dial,
  Redialer,
  type RedialOptions,
  type RedialState,
  type RedialStatus,
  type WebSocketConstructor,
} from './dial.js'
export {
  type ClosingConnection,
  type KnownPeer,
  Mesh,
  type MeshDial,
  type MeshLink,
  type MeshOptions,
  type MeshPeerState,
  type MeshPeerStatus,
  type MeshStatus,
  type MeshTimers,
  meshLink,
  type PeerAddress,
  type PeerSource,
} from './mesh.js'
export {
  CLOSE_CODES,
  type SocketEvent,
  truncateReason,
  type WebSocketLike,
  type WsChannel,
  type WsChannelOptions,
  wsChannel,
} from './websocket.js'
