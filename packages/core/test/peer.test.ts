import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { createSodiumEd25519 } from '../src/ed25519/sodium.js'
import {
  checkContent,
  contentOf,
  createMsg,
  decodeMsg,
  keypairFromSeed,
  LIMITS,
  type PeerContent,
  utf8,
} from '../src/index.js'
import { isPeerUrl, isStunUri } from '../src/schema.js'

const ed = createSodiumEd25519()
const alice = await keypairFromSeed(ed, new Uint8Array(32).fill(1))
const T = 1_760_000_000_000

/** Signs `content` as a `peer` message without core's encoder guarding it (to build bad ones). */
async function signRaw(content: unknown): Promise<Uint8Array> {
  const unsigned = dagCbor.encode({ author: alice.publicKey, seq: 1, prev: null, ts: T, type: 'peer', content })
  const sig = await ed.sign(alice.seed, new Uint8Array([...utf8('murmur/msg/v1\0'), ...unsigned]))
  return new Uint8Array([0x82, ...unsigned, 0x58, 0x40, ...sig])
}

const base: PeerContent = {
  urls: ['wss://murmur.example.org/murmur', 'ws://203.0.113.7:8420/murmur'],
  stun: ['stun:murmur.example.org:3478', 'stun:203.0.113.7:3478'],
}

test('a peer announcement is a known type: valid ones sign, decode and read back typed', async () => {
  const m = await createMsg(ed, alice, undefined, { type: 'peer', content: base, ts: T })
  const r = decodeMsg(m.bytes)
  assert.ok(r.ok)
  assert.deepEqual(contentOf(r.value, 'peer'), base)
  const good: PeerContent[] = [
    { urls: ['ws://localhost:8420/murmur'] },
    { urls: ['wss://[2001:db8::1]:443/murmur'], stun: [] },
    { urls: Array.from({ length: LIMITS.peerUrls }, (_, i) => `wss://p${i}.example.org/murmur`) },
    { urls: [`wss://${'a'.repeat(LIMITS.peerUrlLength - 'wss://.org'.length)}.org`] },
    { urls: ['WSS://Example.ORG/murmur?net=x'] },
    {
      urls: ['wss://example.org'],
      stun: Array.from({ length: LIMITS.stunServersPerPeer }, (_, i) => `stun:s${i}.example.org`),
    },
    { urls: ['wss://example.org'], stun: ['stun:[2001:db8::1]:3478', 'stun:192.0.2.1', 'stun:example.org:65535'] },
  ]
  for (const content of good) assert.equal(checkContent('peer', content as never), undefined, JSON.stringify(content))
  // Extra keys are allowed, as in every content type (a newer app may add fields).
  assert.equal(checkContent('peer', { ...base, webrtc: true }), undefined)
})

test('bad peer announcements are rejected with a reason, whoever signed them', async () => {
  const bad: [string, Record<string, unknown>][] = [
    ['no urls', { stun: base.stun }],
    ['the old addresses field', { addresses: ['wss://example.org'] }],
    ['empty urls', { urls: [] }],
    ['urls not a list', { urls: 'wss://example.org' }],
    ['too many urls', { urls: Array.from({ length: LIMITS.peerUrls + 1 }, (_, i) => `wss://p${i}.example.org`) }],
    ['long url', { urls: [`wss://${'a'.repeat(LIMITS.peerUrlLength - 'wss://.org'.length + 1)}.org`] }],
    ['http url', { urls: ['https://example.org/'] }],
    ['no scheme', { urls: ['example.org:8420'] }],
    ['not a url', { urls: ['wss://'] }],
    ['javascript', { urls: ['javascript:alert(1)'] }],
    ['credentials', { urls: ['wss://user:pw@example.org/murmur'] }],
    ['user only', { urls: ['wss://user@example.org/murmur'] }],
    ['fragment', { urls: ['wss://example.org/murmur#x'] }],
    ['space', { urls: ['wss://example.org/mur mur'] }],
    ['leading space', { urls: [' wss://example.org/'] }],
    ['newline', { urls: ['wss://example.org/\n'] }],
    ['non-ascii', { urls: ['wss://exämple.org/'] }],
    ['number', { urls: [42] }],
    ['bytes', { urls: [utf8('wss://example.org')] }],
    ['stun not a list', { ...base, stun: 'stun:example.org' }],
    ['too many stun', { ...base, stun: Array.from({ length: LIMITS.stunServersPerPeer + 1 }, () => 'stun:a.org') }],
    ['stuns', { ...base, stun: ['stuns:example.org:5349'] }],
    ['turn', { ...base, stun: ['turn:example.org:3478'] }],
    ['stun with slashes', { ...base, stun: ['stun://example.org:3478'] }],
    ['stun port 0', { ...base, stun: ['stun:example.org:0'] }],
    ['stun port too big', { ...base, stun: ['stun:example.org:65536'] }],
    ['stun query', { ...base, stun: ['stun:example.org:3478?transport=udp'] }],
    ['stun bare ipv6', { ...base, stun: ['stun:2001:db8::1:3478'] }],
    ['stun long', { ...base, stun: [`stun:${'a'.repeat(LIMITS.peerUrlLength)}`] }],
    ['stun number', { ...base, stun: [3478] }],
  ]
  for (const [name, content] of bad) {
    assert.equal(typeof checkContent('peer', content), 'string', name)
    await assert.rejects(
      createMsg(ed, alice, undefined, { type: 'peer', content: content as never }),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT',
      name,
    )
    // Signed by its author yet bad: decoding refuses it too.
    assert.equal(decodeMsg(await signRaw(content)).ok, false, name)
  }
})

test('isPeerUrl and isStunUri take only strings of their form', () => {
  for (const v of [undefined, null, 1, {}, ['wss://a.org']]) {
    assert.equal(isPeerUrl(v), false)
    assert.equal(isStunUri(v), false)
  }
  assert.equal(isPeerUrl('wss://a.org'), true)
  assert.equal(isStunUri('stun:a.org'), true)
})
