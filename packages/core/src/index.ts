/**
 * @murmur/core — identities, signed messages, validation, feed chains and fork proofs.
 * Pure: no I/O. Platform parts (the ed25519 backend, a faster sha-256) are passed in.
 */
export {
  compareBytes,
  concatBytes,
  equalBytes,
  fromBase64url,
  fromHex,
  toBase64url,
  toHex,
  utf8,
} from './bytes.js'
export { CborError, decodeCanonical } from './cbor.js'
export { encodeForkProof, extendsHead, type ForkProof, makeForkProof, verifyForkProof } from './chain.js'
export * from './ed25519/index.js'
export { type ErrorCode, isMurmurError, MurmurError } from './errors.js'
export {
  blobId,
  CID,
  cidFromBytes,
  cidOf,
  DAG_CBOR,
  defaultSha256,
  isMurmurCid,
  matchesCid,
  parseCid,
  RAW,
  type Sha256,
} from './hash.js'
export {
  type FeedId,
  fingerprint,
  formatBackup,
  formatFeedId,
  generateKeypair,
  type Keypair,
  keypairFromSeed,
  parseBackup,
  parseFeedId,
} from './keys.js'
export {
  type AnyDraft,
  contentOf,
  createMsg,
  type Draft,
  decodeMsg,
  type Head,
  MAX_MSG_BYTES,
  MSG_SIGN_DOMAIN,
  type Msg,
  type MsgValue,
  type RejectCode,
  type Result,
  signatureOf,
  signingInput,
  type Verified,
  type VerifiedMsg,
  validateMsgs,
  verifyItem,
  verifyMsgs,
} from './message.js'
export {
  type AboutContent,
  type BlobRef,
  type ContactContent,
  checkContent,
  isKnownType,
  isPeerUrl,
  isPlainObject,
  isReleasePath,
  isStunUri,
  type KnownContent,
  LIMITS,
  type PeerContent,
  type PostContent,
  type ReleaseContent,
  type ReleaseFile,
  type VoteContent,
} from './schema.js'
