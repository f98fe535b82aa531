import assert from 'node:assert/strict'
import { test } from 'node:test'
import { when } from '../src/render.js'

test('when: a date to the minute; a claimed time no Date holds is written as the number', () => {
  assert.match(when(Date.UTC(2026, 10, 25, 12, 0)), /^2026-11-2[456] \d\d:\d\d$/)
  // Core takes any non-negative safe integer as a message's ts: hostile, but valid.
  assert.equal(when(Number.MAX_SAFE_INTEGER), `ts ${Number.MAX_SAFE_INTEGER} (no such date)`)
  assert.doesNotMatch(when(8.64e15), /NaN/)
})
