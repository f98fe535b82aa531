import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { murmur, murmurJson, start, stop, tempData } from './helpers.js'

test('serve speaks HTTPS and WSS with --tls-cert/--tls-key; sync reaches it over wss://', async () => {
  const a = await tempData()
  const b = await tempData()
  const cert = join(a.dir, 'cert.pem')
  const key = join(a.dir, 'key.pem')
  try {
    // A throwaway self-signed certificate for 127.0.0.1, trusted by the client through NODE_EXTRA_CA_CERTS.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    )
    const { id: aId } = await murmurJson<{ id: string }>(['init', '--data', a.dir])
    await murmurJson(['init', '--data', b.dir])
    await murmurJson(['post', 'over tls', '--data', a.dir])
    const A = await start(
      [
        'serve',
        '--port',
        '0',
        '--json',
        '--tls-cert',
        cert,
        '--tls-key',
        key,
        '--app',
        join(a.dir, 'no-app'),
        '--data',
        a.dir,
      ],
      /"ws": "(wss:\/\/[^"]+)"/,
    )
    try {
      await murmurJson(['follow', aId, '--data', b.dir])
      const wss = (A.match[1] as string).replace('localhost', '127.0.0.1')
      const untrusted = await murmur(['sync', wss, '--data', b.dir])
      assert.equal(untrusted.code, 5, 'an unknown certificate is refused')
      const r = await murmur(['sync', wss, '--data', b.dir], { env: { NODE_EXTRA_CA_CERTS: cert } })
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /: 1 new message$/m)
    } finally {
      await stop(A.child)
    }
    await writeFile(join(a.dir, 'junk.pem'), 'not a certificate')
    const bad = await murmur([
      'serve',
      '--port',
      '0',
      '--tls-cert',
      join(a.dir, 'junk.pem'),
      '--tls-key',
      key,
      '--data',
      a.dir,
    ])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /TLS certificate/)
  } finally {
    await a.remove()
    await b.remove()
  }
})
