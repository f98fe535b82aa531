/**
 * Strict verification: core's pre-checks first, then the backend. This is the only way remote
 * signatures should be verified; the verdict is the same whichever backend is passed in.
 */
import { MurmurError } from '../errors.js'
import { strictPrecheck } from './precheck.js'
import type { Ed25519, VerifyItem } from './types.js'

/**
 * Strict RFC 8032 verdicts for `items`, in order: an item that fails {@link strictPrecheck} is
 * `false` without reaching the backend; the others get the backend's verdict. Never rejects on
 * bad data.
 */
export async function verifyStrict(backend: Ed25519, items: readonly VerifyItem[]): Promise<boolean[]> {
  const verdicts = new Array<boolean>(items.length).fill(false)
  const passed: VerifyItem[] = []
  const at: number[] = []
  items.forEach((item, i) => {
    if (strictPrecheck(item.publicKey, item.signature)) {
      passed.push(item)
      at.push(i)
    }
  })
  if (passed.length === 0) return verdicts
  const raw = await backend.verifyBatch(passed)
  if (raw.length !== passed.length) {
    throw new MurmurError(
      'INVALID_ARGUMENT',
      `ed25519 backend ${backend.name} returned ${raw.length} verdicts for ${passed.length} items`,
    )
  }
  at.forEach((i, j) => {
    verdicts[i] = raw[j] === true
  })
  return verdicts
}

/**
 * The strict verdict for one item, synchronously, on a backend that has `verifySync`.
 * @throws {MurmurError} `INVALID_ARGUMENT` when the backend has no synchronous verify.
 */
export function verifyStrictSync(backend: Ed25519, item: VerifyItem): boolean {
  if (backend.verifySync === undefined) {
    throw new MurmurError('INVALID_ARGUMENT', `ed25519 backend ${backend.name} has no synchronous verify`)
  }
  return strictPrecheck(item.publicKey, item.signature) && backend.verifySync(item) === true
}
