/**
 * After a restore, is the feed's head known? Writing from a stale copy of one's own feed forks
 * it for good (DESIGN.md, identity safety), so the engine writes nothing until a connected peer
 * has said how far it holds this feed and the store has caught up to that.
 *
 * The replicator learns that from each peer (its clock, or its answer about our own feed) and
 * tells it as `remoteSeq(feed)`: the highest seq a connected peer said it holds, 0 when those
 * that answered hold none, undefined before any answered; a `remote-seq` event says when it
 * changed. This file is the one place the engine reads it.
 */
import type { FeedId } from '@murmur/core'
import type { Replicator } from '@murmur/replicate'

/** True when a connected peer said how far it holds `feed`, and `localSeq` has reached that. */
export function headKnown(replicator: Replicator, feed: FeedId, localSeq: number): boolean {
  const announced = replicator.remoteSeq(feed)
  return announced !== undefined && localSeq >= announced
}
