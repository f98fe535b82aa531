/**
 * The contract between the page (UI, main thread) and the engine (a worker that holds the
 * identity, the IndexedDB store and the replicator). Everything that crosses is structured-
 * clonable plain data: ids are strings (`@…ed25519` feed ids, CID strings for messages and
 * blobs), times are epoch milliseconds, bytes are Uint8Array.
 *
 * The UI calls {@link EngineApi} methods through the RPC in rpc.ts and listens to
 * {@link EngineEvent}s; it never touches the store, keys or sockets itself.
 */

/** A feed id as text: `@<base64url>.ed25519`. */
export type FeedIdText = string
/** A message id as text (CIDv1, base32). */
export type MsgIdText = string
/** A blob id as text (CIDv1 raw, base32). */
export type BlobIdText = string

/** How a person is shown: every name in the UI comes from here. */
export interface PersonRef {
  readonly id: FeedIdText
  /**
   * What to call them: my petname, else a name someone I follow gave them, else their
   * self-chosen name; absent when none exists.
   */
  readonly name?: string
  /**
   * Where `name` comes from. `self` means nobody I follow (nor I) gave it: the UI marks it as
   * self-chosen and shows the fingerprint beside it, so nobody can pose as someone else by name.
   */
  readonly nameSource: 'petname' | 'friend' | 'self' | 'none'
  /** A short, stable key fingerprint to show beside self-chosen names (e.g. `a1b2·c3d4`). */
  readonly fingerprint: string
  /** Their own avatar blob, if they set one. */
  readonly avatar?: BlobIdText
  /** True when this is the local identity. */
  readonly isMe: boolean
}

/** A full profile page. */
export interface Profile extends PersonRef {
  /** The name they chose for themselves (shown on the profile even when a petname is set). */
  readonly selfName?: string
  readonly petname?: string
  readonly description?: string
  /** Names given to them by people I follow. */
  readonly friendNames: readonly { by: PersonRef; name: string }[]
  readonly following: boolean
  readonly followsMe: boolean
  readonly blocked: boolean
  readonly follows: readonly PersonRef[]
  readonly followers: readonly PersonRef[]
  /** Their feed's latest seq held here (0 when none). */
  readonly seq: number
  /** Set when the feed forked: the author signed two messages at one seq; it stops there. */
  readonly forked?: { seq: number }
}

/** An image attached to a post. */
export interface ImageRef {
  readonly blob: BlobIdText
  /** The author's claimed type: never trusted for rendering (the bytes are sniffed). */
  readonly type: string
  readonly size: number
  readonly alt?: string
}

/** A post as the UI shows it. */
export interface PostView {
  readonly id: MsgIdText
  readonly author: PersonRef
  readonly seq: number
  /** The author's claimed time. */
  readonly ts: number
  readonly text: string
  readonly cw?: string
  /** Thread root when this is a reply. */
  readonly root?: MsgIdText
  readonly images: readonly ImageRef[]
  readonly likes: number
  readonly likedByMe: boolean
}

/** One page of posts, newest first; pass `next` back as `before` for the next page. */
export interface PostPage {
  readonly items: readonly PostView[]
  readonly next?: string
}

/** A thread: the root (if held) and every held reply, in causal order. */
export interface ThreadView {
  readonly rootId: MsgIdText
  readonly root?: PostView
  readonly replies: readonly PostView[]
}

/** Where the local identity stands. */
export type IdentityState =
  /** First visit: nothing made yet. */
  | { readonly kind: 'none' }
  | {
      readonly kind: 'ready'
      readonly me: PersonRef
      /** False until the person saved their backup: the UI keeps reminding. */
      readonly backedUp: boolean
      /**
       * After a restore: writing is blocked until the feed's latest message is known from a
       * peer (`headKnown`), or the person overrode the warning (`overridden`).
       */
      readonly restore?: { readonly headKnown: boolean; readonly overridden: boolean; readonly seq: number }
      /** Whether the browser granted persistent storage. */
      readonly persisted: boolean
      /** The invite link to give friends (the serving peer's URL with the id in the fragment). */
      readonly invite: string
    }

/** One peer connection as shown on the network view. */
export interface PeerView {
  /** The URL dialled (configured peers), or undefined for an incoming/unknown one. */
  readonly url?: string
  readonly remote?: FeedIdText
  /** `webrtc`: a direct link to another browser; `learned`: an always-on peer learned from peers. */
  readonly kind?: 'webrtc' | 'learned'
  readonly state: 'connecting' | 'handshake' | 'syncing' | 'live' | 'waiting' | 'closed'
  /** Messages received on this connection, and how many the peer said it would send (if known). */
  readonly received: number
  readonly expected?: number
  /** Of the expected ones, how many this device holds now, from this peer or another. */
  readonly held?: number
  /** Data from this peer that was dropped as invalid, by reason. */
  readonly rejected: Readonly<Record<string, number>>
  /** Why the last attempt failed, and when the next retry is (epoch ms). */
  readonly lastError?: string
  readonly retryAt?: number
}

/** The network view. */
export interface NetworkView {
  readonly online: boolean
  readonly peers: readonly PeerView[]
  /** Peers the person configured (the serving peer's URL first, by default). */
  readonly configured: readonly string[]
  /** Feeds replicated, and messages held. */
  readonly feeds: number
  readonly messages: number
  /** Overall sync progress while catching up (received of expected), absent when live. */
  readonly sync?: { readonly received: number; readonly expected: number }
  /** Forked feeds: shown as a warning. */
  readonly forks: readonly { author: PersonRef; seq: number }[]
  /** Rejected data counts, summed over peers, by reason. */
  readonly rejected: Readonly<Record<string, number>>
  /** Whether this device makes direct links to other browsers (WebRTC). */
  readonly directLinks: boolean
  /** The STUN servers and trackers the person added. */
  readonly stun: readonly string[]
  readonly trackers: readonly string[]
}

/** How the app upgrades itself: at once, after asking, or never (releases are still listed). */
export type UpgradePolicy = 'auto' | 'ask' | 'stay'

/** A release of the web app from a trusted publisher. */
export interface ReleaseView {
  readonly id: MsgIdText
  readonly app: string
  readonly version: string
  readonly publisher: PersonRef
  /** The publisher's claimed time. */
  readonly ts: number
  readonly notes?: string
  readonly prev?: MsgIdText
  /** Every file is verified and in this browser's cache: it can run, even offline. */
  readonly cached: boolean
  readonly current: boolean
  /** Newer than the current release (its `prev` chain reaches it, or a later one of another publisher). */
  readonly newer: boolean
  /** The sha-256 (hex) of its service worker script, if it names one. */
  readonly workerSha256?: string
}

/** The app's releases, newest first, and the person's choices. */
export interface ReleasesView {
  /** The running release; absent while the app runs what the origin first served. */
  readonly current?: MsgIdText
  readonly releases: readonly ReleaseView[]
  readonly policy: UpgradePolicy
  readonly publishers: readonly PersonRef[]
}

/** An image the UI already re-encoded (EXIF stripped, ≤ 2048 px). */
export interface NewImage {
  readonly bytes: Uint8Array
  readonly type: string
  readonly alt?: string
}

/** Everything the UI may ask the engine. Errors reject with {@link EngineError}. */
export interface EngineApi {
  identity(): Promise<IdentityState>
  /** First visit: make the identity on the device and publish the profile. */
  createIdentity(p: { name: string; description?: string; avatar?: NewImage }): Promise<IdentityState>
  /** Restore from the backup text; writing waits until the feed's head is known. */
  restoreIdentity(backup: string): Promise<IdentityState>
  /** The backup text of the secret key (the only way it ever leaves the engine). */
  backupText(): Promise<string>
  markBackedUp(): Promise<void>
  /** Write despite not knowing the feed's head after a restore (the UI warned first). */
  overrideRestoreWait(): Promise<void>
  updateProfile(p: { name?: string; description?: string; avatar?: NewImage }): Promise<void>

  post(p: { text: string; images?: readonly NewImage[]; replyTo?: MsgIdText; cw?: string }): Promise<MsgIdText>
  like(id: MsgIdText, liked: boolean): Promise<void>
  follow(id: FeedIdText, following: boolean): Promise<void>
  block(id: FeedIdText, blocking: boolean): Promise<void>
  /** Empty string removes the petname. */
  setPetname(id: FeedIdText, petname: string): Promise<void>

  timeline(opts: { limit?: number; before?: string }): Promise<PostPage>
  postsBy(id: FeedIdText, opts: { limit?: number; before?: string }): Promise<PostPage>
  thread(id: MsgIdText): Promise<ThreadView>
  profile(id: FeedIdText): Promise<Profile>
  likers(id: MsgIdText): Promise<readonly PersonRef[]>
  suggestions(): Promise<readonly PersonRef[]>

  network(): Promise<NetworkView>
  addPeer(url: string): Promise<void>
  removePeer(url: string): Promise<void>
  /** Turns direct links to other browsers (WebRTC) on or off (they show each other's IP address). */
  setDirectLinks(on: boolean): Promise<void>
  /**
   * Sets the STUN servers (`stun:host[:port]`) and WebTorrent trackers (`wss://…`) this device
   * uses for direct links, besides the serving peer's own. Nothing is used unless listed here or
   * run by the serving peer. At most 8 of each.
   */
  setConnectivity(c: { stun: string[]; trackers: string[] }): Promise<void>

  /** A blob's bytes: from the store, else fetched from peers; undefined when nobody has it. */
  blob(id: BlobIdText): Promise<Uint8Array | undefined>

  /** The app's releases from trusted publishers, the current one, the policy and publishers. */
  releases(): Promise<ReleasesView>
  setUpgradePolicy(policy: UpgradePolicy): Promise<void>
  /** Makes a cached release current (upgrade or roll back); the page reloads to run it. */
  useRelease(id: MsgIdText): Promise<void>
  /** Trusts `id` to publish the app (their feed then replicates, without a public follow). */
  addPublisher(id: FeedIdText): Promise<void>
  removePublisher(id: FeedIdText): Promise<void>
}

/** Names of the {@link EngineApi} methods. */
export type EngineMethod = keyof EngineApi

/** Events the engine pushes to every tab. */
export type EngineEvent =
  /** New messages were stored and indexed: refresh what is shown (debounced by the engine). */
  | { readonly type: 'changed'; readonly authors: readonly FeedIdText[] }
  /** The network view changed (connections, progress). */
  | { readonly type: 'network' }
  /** The identity state changed (created, restored, head known, backed up). */
  | { readonly type: 'identity' }
  /** Releases, their caches, the policy or the publishers changed. */
  | { readonly type: 'releases' }

/** Error codes the UI can act on. */
export type EngineErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NO_IDENTITY'
  | 'IDENTITY_EXISTS'
  | 'RESTORE_PENDING'
  | 'BAD_BACKUP'
  | 'TOO_LARGE'
  | 'NOT_FOUND'
  | 'UNAVAILABLE'
  | 'INTERNAL'

/** What a failed call rejects with on the UI side (a plain, clonable shape). */
export interface EngineError {
  readonly code: EngineErrorCode
  readonly message: string
}
