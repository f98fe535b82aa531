/**
 * Types of `bittorrent-dht` (WebTorrent's BitTorrent mainline DHT, BEP 5), which ships none: only
 * what dht.ts calls. None of them appear in this package's public types.
 */

declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'

  interface NodeAddress {
    host: string
    port: number
  }

  interface ClientOptions {
    /** Nodes to start from: `false` for none (the default is the public routers). */
    bootstrap?: false | NodeAddress[]
  }

  /** A node of the DHT. Events: `peer` (peer, infoHash, from), `error`, `warning`, `ready`. */
  class Client extends EventEmitter {
    constructor(opts?: ClientOptions)
    readonly nodeId: Buffer
    readonly listening: boolean
    readonly destroyed: boolean
    /** The routing table (a k-bucket). */
    readonly nodes: { count(): number }
    address(): { address: string; family: string; port: number }
    listen(port: number, address: string, onListening: () => void): void
    /** Calls back with the nodes that took the announce (an error when none did). */
    announce(infoHash: Buffer, port: number, cb: (err: Error | null | undefined, n?: number) => void): void
    /** Emits `peer` for each address found; calls back when the walk of the table ends. */
    lookup(infoHash: Buffer, cb: (err: Error | null | undefined, n?: number) => void): () => void
    destroy(cb?: () => void): void
  }

  export default Client
}
