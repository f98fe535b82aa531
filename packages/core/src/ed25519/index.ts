/**
 * ed25519 for Murmur: the backend contract, core's strict pre-checks, strict verification and
 * the portable backends (WebCrypto, pure TypeScript). The Node backend is the subpath
 * `@murmur/core/sodium`. The caller picks the backend and passes it in.
 */
export { createNobleEd25519 } from './noble.js'
export {
  isCanonicalEncoding,
  isCanonicalScalar,
  isSmallOrderEncoding,
  SMALL_ORDER_ENCODINGS,
  strictPrecheck,
} from './precheck.js'
export type { Ed25519, VerifyItem } from './types.js'
export { verifyStrict, verifyStrictSync } from './verify.js'
export { createWebCryptoEd25519, type WebCryptoEd25519Options } from './webcrypto.js'
