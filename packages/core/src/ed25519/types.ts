/**
 * The contract every ed25519 backend meets. A backend is the platform part (libsodium in Node,
 * WebCrypto in the browser, pure TypeScript as the fallback) and is passed in by the caller;
 * core never picks one by sniffing the environment.
 *
 * Backends are raw: their verdicts on crafted inputs (small-order keys, non-canonical points,
 * odd signature lengths) differ from each other. Verify remote data only through
 * `verifyStrict` / `verifyStrictSync` (./verify.ts), which rejects those inputs before any backend
 * sees them, so the verdict never depends on the backend.
 */

/** One signature to check: a 32-byte public key, the signed bytes and a 64-byte signature. */
export interface VerifyItem {
  /** The signer's 32-byte public key (the feed id), as received. */
  readonly publicKey: Uint8Array
  /** The exact bytes that were signed. */
  readonly message: Uint8Array
  /** The signature R ‖ S, as received (its length is not trusted). */
  readonly signature: Uint8Array
}

/** An ed25519 implementation (RFC 8032, pure Ed25519: no context, no prehash). */
export interface Ed25519 {
  /** Which backend this is: `'sodium'`, `'webcrypto'` or `'noble'`. */
  readonly name: string
  /**
   * The 32-byte public key of a 32-byte RFC 8032 secret seed.
   * @throws {MurmurError} `INVALID_ARGUMENT` when the seed is not 32 bytes.
   */
  publicKey(seed: Uint8Array): Promise<Uint8Array>
  /**
   * The deterministic 64-byte RFC 8032 signature of `message` under the key of `seed`.
   * @throws {MurmurError} `INVALID_ARGUMENT` when the seed is not 32 bytes.
   */
  sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array>
  /**
   * The backend's raw verdicts, in order, with NO strict pre-checks (`verifyStrict` adds them).
   * Never throws or rejects on bad data: anything the backend cannot take is `false`.
   */
  verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]>
  /** A fast synchronous raw verify, where the backend has one (sodium, noble). Never throws. */
  verifySync?(item: VerifyItem): boolean
  /** Releases what the backend holds (worker threads); absent when there is nothing to release. */
  close?(): Promise<void>
}
