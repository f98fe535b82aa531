/**
 * @murmur/net — transports for replication. This entry is browser-safe: a WebSocket as a
 * channel, a dialler and a redialer with backoff. The Node listener and dialler are in
 * `@murmur/net/node`; finding feeds' holders through the BitTorrent DHT (Node) in `@murmur/net/dht`.
 */
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
  CLOSE_CODES,
  type SocketEvent,
  truncateReason,
  type WebSocketLike,
  type WsChannel,
  type WsChannelOptions,
  wsChannel,
} from './websocket.js'
