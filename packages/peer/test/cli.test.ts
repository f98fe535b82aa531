import assert from 'node:assert/strict'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { murmur, murmurJson, tempData } from './helpers.js'

// A 1x1 PNG.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082',
  'hex',
)

test('init makes an identity once, whoami prints it, the secret is private', async () => {
  const d = await tempData()
  try {
    const made = await murmurJson<{ id: string }>(['init', '--data', d.dir])
    assert.match(made.id, /^@[A-Za-z0-9_-]{43}\.ed25519$/)
    const again = await murmur(['init', '--data', d.dir])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already exists.*never overwritten/)
    assert.doesNotMatch(again.stderr, /\n\s+at /, 'no stack trace')
    const who = await murmur(['whoami', '--data', d.dir])
    assert.equal(who.code, 0)
    assert.equal(who.stdout.trim(), made.id)
    const mode = (await stat(join(d.dir, 'secret'))).mode & 0o777
    assert.equal(mode, 0o600)
  } finally {
    await d.remove()
  }
})

test('post, follow with a petname, feed, thread and log', async () => {
  const a = await tempData()
  const b = await tempData()
  try {
    const { id: aId } = await murmurJson<{ id: string }>(['init', '--data', a.dir])
    const { id: bId } = await murmurJson<{ id: string }>(['init', '--data', b.dir])
    const p = await murmurJson<{ id: string; seq: number }>(['post', 'hello <b>world</b>', '--data', a.dir])
    assert.equal(p.seq, 1)
    const f = await murmurJson<{ target: string }>(['follow', bId, '--name', 'Bee', '--data', a.dir])
    assert.equal(f.target, bId)
    const img = join(a.dir, 'dot.png')
    await writeFile(img, PNG)
    const withImage = await murmurJson<{ content: { blobs: { type: string; size: number }[] } }>([
      'post',
      'a picture',
      '--image',
      img,
      '--alt',
      'one pixel',
      '--data',
      a.dir,
    ])
    assert.equal(withImage.content.blobs[0]?.type, 'image/png')
    assert.equal(withImage.content.blobs[0]?.size, PNG.length)
    const reply = await murmurJson<{ id: string; content: { root: string; branch: string[] } }>([
      'post',
      'replying',
      '--reply-to',
      p.id,
      '--data',
      a.dir,
    ])
    assert.equal(reply.content.root, p.id)
    const feed = await murmurJson<{ items: { id: string; content: { text: string } }[] }>(['feed', '--data', a.dir])
    assert.deepEqual(
      feed.items.map((i) => i.content.text),
      ['replying', 'a picture', 'hello <b>world</b>'],
    )
    const text = await murmur(['feed', '--data', a.dir])
    assert.equal(text.code, 0)
    assert.match(text.stdout, /me · .*\n {2}replying/)
    const thread = await murmurJson<{ root: { id: string }; replies: { id: string }[] }>([
      'thread',
      reply.id,
      '--data',
      a.dir,
    ])
    assert.equal(thread.root.id, p.id)
    assert.deepEqual(
      thread.replies.map((r) => r.id),
      [reply.id],
    )
    const log = await murmurJson<{ seq: number; messages: { seq: number; type: string }[] }>([
      'log',
      aId,
      '--data',
      a.dir,
    ])
    assert.equal(log.seq, 5)
    assert.deepEqual(
      log.messages.map((m) => m.type),
      ['post', 'contact', 'about', 'post', 'post'],
    )
    const status = await murmurJson<{ seq: number; messages: number; serving: boolean }>(['status', '--data', a.dir])
    assert.equal(status.seq, 5)
    assert.equal(status.serving, false)
  } finally {
    await a.remove()
    await b.remove()
  }
})

test('wrong arguments and missing identity give one-line errors and meaningful exit codes', async () => {
  const d = await tempData()
  try {
    const none = await murmur(['post', 'hi', '--data', d.dir])
    assert.equal(none.code, 3)
    assert.match(none.stderr, /no identity .*`murmur init`/)
    await murmur(['init', '--data', d.dir])
    const cases: [string[], number, RegExp][] = [
      [['nonsense'], 2, /unknown command/],
      [['follow', 'not-an-id'], 2, /not a feed id/],
      [['post'], 2, /usage: murmur post/],
      [['post', 'x', '--bogus'], 2, /Unknown option/],
      [['thread', 'bafynothing'], 2, /not a message or blob id/],
      [['feed', '--limit', '0'], 2, /--limit takes a whole number/],
      [['feed', '--before', '!!!'], 2, /cursor/],
      [['post', 'x', '--image', join(d.dir, 'missing.png')], 1, /cannot read/],
      [['post', 'x', '--image', join(d.dir, 'secret')], 2, /not a JPEG, PNG, GIF or WebP/],
    ]
    for (const [args, code, re] of cases) {
      const r = await murmur([...args, '--data', d.dir])
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, re, args.join(' '))
      assert.equal(r.stderr.trim().split('\n').length <= 2, true, `short error for ${args.join(' ')}: ${r.stderr}`)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
    const j = await murmur(['follow', 'nope', '--json', '--data', d.dir])
    assert.equal(j.code, 2)
    assert.equal(JSON.parse(j.stderr).exitCode, 2)
  } finally {
    await d.remove()
  }
})
