/**
 * The ed25519 layer in a real Chromium: the WebCrypto backend (BoringSSL) and the noble backend
 * run the RFC 8032, Wycheproof and crafted cases inside the page; every strict verdict must be
 * the expected one and equal Node's sodium verdict.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { callEntry, openEntryPage } from '@murmur/testkit/browser'
import { createSodiumEd25519 } from '../src/ed25519/sodium.js'
import {
  type BackendVerdicts,
  craftedCases,
  type Ed25519Vectors,
  runChecks,
  type VerifyCase,
} from './browser/ed25519.entry.js'

const here = path.dirname(fileURLToPath(import.meta.url))

// The vectors live beside the repo: <root>/../shared/vectors, root = the workspaces package.
function repoRoot(): string {
  let dir = here
  for (;;) {
    const pkg = path.join(dir, 'package.json')
    if (existsSync(pkg) && 'workspaces' in JSON.parse(readFileSync(pkg, 'utf8'))) return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error('no package.json with "workspaces" above this test')
    dir = up
  }
}

function loadVectors(): Ed25519Vectors {
  const dir = path.resolve(repoRoot(), '../shared/vectors')
  const rfc = JSON.parse(readFileSync(path.join(dir, 'rfc8032-ed25519.json'), 'utf8')) as {
    priv: string
    pub: string
    msg: string
    sig: string
  }[]
  const wycheproof = JSON.parse(readFileSync(path.join(dir, 'wycheproof-ed25519_test.json'), 'utf8')) as {
    testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: string }[] }[]
  }
  const verify: VerifyCase[] = [
    ...rfc.map((v, i) => ({ id: `rfc8032 #${i}`, publicKey: v.pub, message: v.msg, signature: v.sig, valid: true })),
    ...wycheproof.testGroups.flatMap((g) =>
      g.tests.map((t) => ({
        id: `wycheproof #${t.tcId}`,
        publicKey: g.publicKey.pk,
        message: t.msg,
        signature: t.sig,
        valid: t.result === 'valid',
      })),
    ),
    ...craftedCases(),
  ]
  return { sign: rfc.map((v) => ({ seed: v.priv, publicKey: v.pub, message: v.msg, signature: v.sig })), verify }
}

test('Chromium: WebCrypto and noble in the page give every expected verdict, equal to Node sodium', {
  timeout: 120_000,
}, async () => {
  const vectors = loadVectors()
  assert.equal(vectors.verify.length, 4 + 151 + craftedCases().length)
  const [node] = await runChecks([createSodiumEd25519()], vectors)
  assert.ok(node)

  const entryPage = await openEntryPage(path.join(here, 'browser/ed25519.entry.js'))
  let inPage: BackendVerdicts[]
  try {
    inPage = await callEntry<BackendVerdicts[]>(entryPage, 'runInBrowser', vectors)
    assert.deepEqual(entryPage.pageErrors, [])
  } finally {
    await entryPage.close()
  }

  assert.deepEqual(
    inPage.map((r) => r.name),
    ['webcrypto', 'noble'],
  )
  const expected = vectors.verify.map((c) => c.valid)
  assert.deepEqual(node.strict, expected, 'Node sodium')
  for (const r of inPage) {
    assert.deepEqual(
      r.publicKeys,
      vectors.sign.map((c) => c.publicKey),
      `${r.name}: publicKey`,
    )
    assert.deepEqual(
      r.signatures,
      vectors.sign.map((c) => c.signature),
      `${r.name}: sign`,
    )
    for (const [i, c] of vectors.verify.entries()) {
      assert.equal(r.strict[i], c.valid, `${r.name} in Chromium: ${c.id}`)
    }
    assert.deepEqual(r.strict, node.strict, `${r.name} in Chromium equals Node sodium`)
  }

  // Why the pre-check exists: BoringSSL's raw verdict takes the universal small-order key.
  const webcrypto = inPage[0] as BackendVerdicts
  const universal = vectors.verify.findIndex((c) => c.id.startsWith('universal key'))
  assert.equal(webcrypto.raw[universal], true, 'raw Chromium WebCrypto accepts the universal key')
  assert.equal(node.raw[universal], false, 'raw libsodium rejects it')
})
