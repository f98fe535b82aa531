import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  parseStun,
  readXorMappedAddress,
  type StunHeader,
  startStunServer,
  stunBindingRequest,
  stunBindingSuccess,
} from '../src/stun.js'
import { within } from './helpers.js'

// Read from the source tree (tests run from dist/test).
const vectors = JSON.parse(readFileSync(new URL('../../test/fixtures/rfc5769.json', import.meta.url), 'utf8')) as {
  password: string
  transactionId: string
  request: { hex: string }
  ipv4Response: { hex: string; address: string; port: number }
  ipv6Response: { hex: string; address: string; port: number }
}
const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))
const request = hex(vectors.request.hex)
const ipv4Response = hex(vectors.ipv4Response.hex)
const ipv6Response = hex(vectors.ipv6Response.hex)

function parsed(bytes: Uint8Array): StunHeader {
  const p = parseStun(bytes)
  assert.notEqual(typeof p, 'string', String(p))
  return p as StunHeader
}

/** A UDP client on loopback that collects what it receives. */
async function client(
  type: 'udp4' | 'udp6' = 'udp4',
): Promise<{ socket: Socket; got: Buffer[]; next(): Promise<Buffer> }> {
  const socket = createSocket(type)
  const got: Buffer[] = []
  const waiting: ((b: Buffer) => void)[] = []
  socket.on('message', (m) => {
    got.push(m)
    waiting.shift()?.(m)
  })
  await new Promise<void>((resolve) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve))
  return {
    socket,
    got,
    next: () => within(3000, 'a STUN answer', new Promise<Buffer>((resolve) => waiting.push(resolve))),
  }
}

const send = (socket: Socket, bytes: Uint8Array, port: number, host = '127.0.0.1') =>
  new Promise<void>((resolve, reject) => socket.send(bytes, port, host, (err) => (err ? reject(err) : resolve())))

const close = (socket: Socket) => new Promise<void>((resolve) => socket.close(() => resolve()))

test('RFC 5769 vectors: transcribed right, parsed, and our encoder makes their XOR-MAPPED-ADDRESS', () => {
  // The transcription: every vector's MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to it,
  // with the length counting it, RFC 5389 §15.4) checks under the RFC's password.
  for (const bytes of [request, ipv4Response, ipv6Response]) {
    const at = bytes.length - 8 - 24 // MESSAGE-INTEGRITY (24 bytes) then FINGERPRINT (8 bytes)
    const head = bytes.slice(0, at)
    new DataView(head.buffer).setUint16(2, at + 24 - 20)
    const mac = createHmac('sha1', vectors.password).update(head).digest()
    assert.deepEqual(new Uint8Array(mac), bytes.subarray(at + 4, at + 24))
  }
  // parseStun checks their FINGERPRINTs (CRC-32) and reads them.
  const req = parsed(request)
  assert.equal(req.type, 0x0001)
  assert.equal(Buffer.from(req.transactionId).toString('hex'), vectors.transactionId)
  assert.deepEqual(
    req.attributes.map((a) => a.type),
    [0x8022, 0x0024, 0x8029, 0x0006, 0x0008, 0x8028],
  )
  assert.equal(Buffer.from(req.attributes[3]?.value ?? []).toString(), 'evtj:h6vY')
  for (const [bytes, v] of [
    [ipv4Response, vectors.ipv4Response],
    [ipv6Response, vectors.ipv6Response],
  ] as const) {
    const res = parsed(bytes)
    assert.equal(res.type, 0x0101)
    assert.deepEqual(readXorMappedAddress(res), {
      family: v.address.includes(':') ? 'IPv6' : 'IPv4',
      address: v.address,
      port: v.port,
    })
    // Our answer's XOR-MAPPED-ADDRESS attribute is byte for byte the vector's.
    const ours = stunBindingSuccess(hex(vectors.transactionId), v.address, v.port)
    const attr = (m: Uint8Array) => {
      const i = Buffer.from(m).indexOf(Buffer.from([0x00, 0x20]), 20)
      return m.subarray(i, i + 4 + (v.address.includes(':') ? 20 : 8))
    }
    assert.deepEqual(attr(ours), attr(bytes))
    assert.deepEqual(readXorMappedAddress(parsed(ours)), readXorMappedAddress(res))
  }
  // An IPv4-mapped client address is answered as IPv4.
  assert.deepEqual(readXorMappedAddress(parsed(stunBindingSuccess(new Uint8Array(12), '::ffff:192.0.2.1', 1))), {
    family: 'IPv4',
    address: '192.0.2.1',
    port: 1,
  })
  assert.throws(() => stunBindingSuccess(new Uint8Array(11), '192.0.2.1', 1), RangeError)
  assert.throws(() => stunBindingSuccess(new Uint8Array(12), 'example.org', 1), RangeError)
})

test('answers a Binding Request with the address and port it came from', async () => {
  const server = await startStunServer({ port: 0, host: '127.0.0.1' })
  const c = await client()
  try {
    const me = c.socket.address()
    // The RFC's sample request (ICE attributes, integrity, fingerprint) and a bare one.
    for (const req of [request, stunBindingRequest()]) {
      const answer = c.next()
      await send(c.socket, req, server.port)
      const res = parsed(await answer)
      assert.equal(res.type, 0x0101)
      assert.deepEqual(res.transactionId, parsed(req).transactionId)
      assert.deepEqual(readXorMappedAddress(res), { family: 'IPv4', address: '127.0.0.1', port: me.port })
    }
    assert.deepEqual(server.stats(), { received: 2, answered: 2, malformed: 0, ignored: 0, rateLimited: 0, errors: 0 })
  } finally {
    await close(c.socket)
    await server.close()
  }
})

test('answers over IPv6, and IPv4 clients of a dual-stack socket as IPv4', async (t) => {
  let server: Awaited<ReturnType<typeof startStunServer>>
  try {
    server = await startStunServer({ port: 0, host: '::' })
  } catch {
    t.skip('no IPv6 here')
    return
  }
  const c6 = await client('udp6').catch(() => undefined)
  const c4 = await client('udp4')
  try {
    if (c6) {
      const answer = c6.next()
      await send(c6.socket, stunBindingRequest(), server.port, '::1')
      assert.deepEqual(readXorMappedAddress(parsed(await answer)), {
        family: 'IPv6',
        address: '::1',
        port: c6.socket.address().port,
      })
    }
    const answer = c4.next()
    await send(c4.socket, stunBindingRequest(), server.port)
    assert.deepEqual(readXorMappedAddress(parsed(await answer)), {
      family: 'IPv4',
      address: '127.0.0.1',
      port: c4.socket.address().port,
    })
  } finally {
    if (c6) await close(c6.socket)
    await close(c4.socket)
    await server.close()
  }
})

test('garbage and other STUN messages are dropped and counted, never answered', async () => {
  const server = await startStunServer({ port: 0 })
  const c = await client()
  const withType = (type: number) => {
    const m = stunBindingRequest()
    new DataView(m.buffer).setUint16(0, type)
    return m
  }
  const patched = (bytes: Uint8Array, at: number, value: number) => {
    const m = bytes.slice()
    m[at] = value
    return m
  }
  const malformed: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['19 bytes', stunBindingRequest().subarray(0, 19)],
    ['random', new Uint8Array(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))],
    ['no cookie', patched(stunBindingRequest(), 4, 0x22)],
    ['top bits', withType(0xc001)],
    ['length too long', patched(stunBindingRequest(), 3, 4)],
    ['length not /4', patched(request, 3, 0x57)],
    ['extra bytes', new Uint8Array([...stunBindingRequest(), 0, 0, 0, 0])],
    ['truncated attribute', patched(patched(request, 2, 0), 3, 0x02).subarray(0, 22)],
    ['attribute too long', patched(request, 23, 0xff)],
    ['bad fingerprint', patched(request, request.length - 1, request.at(-1) === 0 ? 1 : 0)],
    ['tampered under fingerprint', patched(request, 30, 0x41)],
  ]
  const ignored: [string, Uint8Array][] = [
    ['binding indication', withType(0x0011)],
    ['binding success', withType(0x0101)],
    ['binding error', withType(0x0111)],
    ['allocate request (TURN)', withType(0x0003)],
  ]
  try {
    for (const [name, m] of malformed) assert.equal(typeof parseStun(m), 'string', name)
    for (const [, m] of [...malformed, ...ignored]) await send(c.socket, m, server.port)
    // The server reads its socket in order: once this one is answered, all of the above were seen.
    const answer = c.next()
    await send(c.socket, stunBindingRequest(), server.port)
    await answer
    assert.deepEqual(server.stats(), {
      received: malformed.length + ignored.length + 1,
      answered: 1,
      malformed: malformed.length,
      ignored: ignored.length,
      rateLimited: 0,
      errors: 0,
    })
    assert.equal(c.got.length, 1)
  } finally {
    await close(c.socket)
    await server.close()
  }
})

test('each source address is rate-limited', async (t) => {
  let now = 0
  const server = await startStunServer({ port: 0, burst: 3, ratePerSecond: 1, now: () => now })
  const a = await client()
  const b = await client()
  // Another source address, to learn when the server has read what came before (it reads its
  // socket in order); Linux routes all of 127/8 to loopback.
  const other = createSocket('udp4')
  other.on('message', () => {})
  try {
    await new Promise<void>((resolve, reject) => {
      other.once('error', reject)
      other.bind(0, '127.0.0.2', resolve)
    })
  } catch {
    t.skip('cannot bind 127.0.0.2 here')
    await Promise.all([close(a.socket), close(b.socket), server.close()])
    return
  }
  const seenAll = () =>
    within(
      3000,
      'the answer to 127.0.0.2',
      new Promise<void>((resolve) => {
        other.once('message', () => resolve())
        void send(other, stunBindingRequest(), server.port)
      }),
    )
  try {
    const three = [a.next(), a.next(), a.next()]
    for (let i = 0; i < 6; i++) await send(a.socket, stunBindingRequest(), server.port)
    await seenAll()
    assert.equal(server.stats().rateLimited, 3)
    // b is another port on the same address, so it shares a's bucket, which is empty.
    await send(b.socket, stunBindingRequest(), server.port)
    await seenAll()
    assert.equal(server.stats().rateLimited, 4)
    now += 1000 // one more token
    const answer = b.next()
    await send(b.socket, stunBindingRequest(), server.port)
    await answer
    await Promise.all(three)
    assert.deepEqual(server.stats(), { received: 10, answered: 6, malformed: 0, ignored: 0, rateLimited: 4, errors: 0 })
    assert.equal(a.got.length, 3)
    assert.equal(b.got.length, 1)
  } finally {
    await Promise.all([close(a.socket), close(b.socket), close(other)])
    await server.close()
  }
})

test('a port in use is an error; close() twice is fine', async () => {
  const server = await startStunServer({ port: 0 })
  await assert.rejects(startStunServer({ port: server.port }), /EADDRINUSE/)
  await server.close()
  await server.close()
})
