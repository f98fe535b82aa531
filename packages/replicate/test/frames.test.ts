import assert from 'node:assert/strict'
import { test } from 'node:test'
import { blobId } from '@murmur/core'
import fc from 'fast-check'
import {
  CLOCK_ENTRIES_PER_FRAME,
  decodeFrame,
  decodeHello,
  encodeBlobChunk,
  encodeBlobGet,
  encodeBlobHave,
  encodeBlobWant,
  encodeClock,
  encodeClose,
  encodeCredit,
  encodeGet,
  encodeHave,
  encodeHello,
  encodeMsgs,
  encodeNone,
  encodePeers,
  encodeRequest,
  encodeSignal,
  encodeUnwant,
  FEATURE,
  helloFeatures,
  isFrameError,
  MAX_PLAINTEXT,
  MAX_SIGNAL_PAYLOAD,
  PEERS_PER_FRAME,
} from '../src/frames.js'
import { sha256 } from './helpers.js'

const feed = (n: number) => new Uint8Array(32).fill(n)
const cid = blobId(new Uint8Array([1, 2, 3]), sha256)

test('every frame decodes to what was encoded', () => {
  const entries = [
    { feed: feed(1), seq: 0, prefix: new Uint8Array(8) },
    { feed: feed(2), seq: 2 ** 53 - 1, prefix: new Uint8Array(8).fill(9) },
  ]
  const cases: [Uint8Array, unknown][] = [
    [encodeClock(entries), { type: 'clock', entries }],
    [encodeUnwant([feed(3), feed(4)]), { type: 'unwant', feeds: [feed(3), feed(4)] }],
    [encodeCredit(1_048_576), { type: 'credit', bytes: 1_048_576 }],
    [
      encodeMsgs([new Uint8Array([1, 2]), new Uint8Array(300)]),
      { type: 'msgs', msgs: [new Uint8Array([1, 2]), new Uint8Array(300)] },
    ],
    [encodeGet(feed(5), 7), { type: 'get', feed: feed(5), seq: 7 }],
    [encodeNone(feed(5), 7), { type: 'none', feed: feed(5), seq: 7 }],
    [encodeBlobHave(cid, 3), { type: 'blob-have', cid, size: 3 }],
    [encodeBlobGet(cid, 1, 2), { type: 'blob-get', cid, offset: 1, length: 2 }],
    [encodeClose('bye'), { type: 'close', reason: 'bye' }],
  ]
  for (const [bytes, want] of cases) assert.deepEqual(decodeFrame(bytes), want)
  const w = decodeFrame(encodeBlobWant([cid, cid]))
  assert.ok(!isFrameError(w) && w.type === 'blob-want' && w.cids.length === 2 && w.cids[0]?.equals(cid))
  const c = decodeFrame(encodeBlobChunk(cid, 9, new Uint8Array([7, 8])))
  assert.ok(!isFrameError(c) && c.type === 'blob-chunk' && c.offset === 9 && c.bytes.length === 2)
  // A full clock frame fits the limit.
  const many = Array.from({ length: CLOCK_ENTRIES_PER_FRAME }, () => entries[0] as (typeof entries)[0])
  assert.ok(encodeClock(many).length <= MAX_PLAINTEXT)
})

test('any bytes decode to a frame or an error, never a throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const f = decodeFrame(bytes)
      assert.ok(typeof f === 'object' && f !== null)
    }),
    { numRuns: 3000 },
  )
  // Including well-typed headers with bodies of any size.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 31 }), fc.uint8Array({ maxLength: 120 }), (type, body) => {
      decodeFrame(new Uint8Array([(1 << 5) | type, ...body]))
    }),
    { numRuns: 3000 },
  )
  assert.ok(isFrameError(decodeFrame(new Uint8Array(MAX_PLAINTEXT + 1))))
})

test('a tail rides in the prefix of a CLOCK entry of seq 0; an entry of before tails asks for the whole feed', () => {
  const tail = { feed: feed(1), seq: 0, prefix: new Uint8Array(8), tail: 10 }
  const bytes = encodeClock([tail])
  // feed(32) ‖ seq 0 (8) ‖ tail 10 as a u64: what a peer of before tails reads as "none held".
  assert.deepEqual(bytes.subarray(33), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]))
  assert.deepEqual(decodeFrame(bytes), { type: 'clock', entries: [tail] })
  const whole = { feed: feed(1), seq: 0, prefix: new Uint8Array(8) }
  assert.deepEqual(decodeFrame(encodeClock([whole])), { type: 'clock', entries: [whole] })
  // A tail only where it means something.
  assert.throws(() => encodeClock([{ ...tail, seq: 3 }]), RangeError)
  assert.throws(() => encodeClock([{ ...tail, tail: 0 }]), RangeError)
  assert.throws(() => encodeHave([tail]), RangeError)
  const beyond = encodeClock([whole])
  beyond.fill(0xff, 41)
  assert.ok(isFrameError(decodeFrame(beyond)))
})

test('HAVE has the layout of CLOCK; the hello carries the feature flags', () => {
  const entries = [
    { feed: feed(1), seq: 0, prefix: new Uint8Array(8) },
    { feed: feed(2), seq: 5, prefix: new Uint8Array(8).fill(3) },
  ]
  assert.deepEqual(decodeFrame(encodeHave(entries)), { type: 'have', entries })
  assert.ok(isFrameError(decodeFrame(encodeHave(entries).subarray(0, 30))))
  const hello = encodeHello()
  assert.equal(decodeHello(hello), 1)
  assert.equal(helloFeatures(hello) & FEATURE.have, FEATURE.have)
  // A hello of before features: version 1, no flags.
  assert.equal(helloFeatures(new Uint8Array([1, 0])), 0)
  assert.equal(decodeHello(new Uint8Array([1, 0])), 1)
})

test('PEERS, SIGNAL and REQUEST decode to what was encoded; bad bodies are errors', () => {
  const peers = [{ feed: feed(1), url: 'wss://peer.example.org/' }, { feed: feed(2) }]
  assert.deepEqual(decodeFrame(encodePeers(peers)), { type: 'peers', entries: peers, dropped: 0 })
  assert.deepEqual(decodeFrame(encodePeers([])), { type: 'peers', entries: [], dropped: 0 })
  assert.throws(() => encodePeers([{ feed: feed(1), url: 'https://x.org' }]), RangeError)
  assert.throws(() => encodePeers(Array.from({ length: PEERS_PER_FRAME + 1 }, () => ({ feed: feed(1) }))), RangeError)
  assert.ok(isFrameError(decodeFrame(encodePeers(peers).subarray(0, 50))))

  const s = { to: feed(3), from: feed(4), relayed: true, payload: new Uint8Array([1, 2, 3]) }
  assert.deepEqual(decodeFrame(encodeSignal(s)), { type: 'signal', ...s })
  const big = { ...s, relayed: false, payload: new Uint8Array(MAX_SIGNAL_PAYLOAD) }
  assert.deepEqual(decodeFrame(encodeSignal(big)), { type: 'signal', ...big })
  assert.throws(() => encodeSignal({ ...s, payload: new Uint8Array(0) }), RangeError)
  assert.throws(() => encodeSignal({ ...s, payload: new Uint8Array(MAX_SIGNAL_PAYLOAD + 1) }), RangeError)
  assert.ok(isFrameError(decodeFrame(encodeSignal(s).subarray(0, 66))), 'no payload')
  const tooBig = new Uint8Array(1 + 65 + MAX_SIGNAL_PAYLOAD + 1)
  tooBig[0] = (1 << 5) | 14
  assert.ok(isFrameError(decodeFrame(tooBig)))
  // Reserved flag bits are ignored.
  const flagged = encodeSignal(s)
  flagged[1] = 0xfe
  assert.equal((decodeFrame(flagged) as { relayed: boolean }).relayed, false)

  const req = [
    { feed: feed(5), mode: 'stream' as const, seq: 0 },
    { feed: feed(6), mode: 'notify' as const, seq: 2 ** 53 - 1 },
  ]
  assert.deepEqual(decodeFrame(encodeRequest(req)), { type: 'request', entries: req })
  const badMode = encodeRequest(req)
  badMode[33] = 2
  assert.ok(isFrameError(decodeFrame(badMode)))
  assert.ok(isFrameError(decodeFrame(encodeRequest(req).subarray(0, 40))))
  assert.equal(helloFeatures(encodeHello()), FEATURE.have | FEATURE.peers | FEATURE.signal | FEATURE.gossip)
})
