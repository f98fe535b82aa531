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

/**
 * True when a connected peer said it holds `feed` up to some seq, and `localSeq` has reached
 * that. A peer that holds none of it (0) proves nothing: it may simply never have seen this
 * feed, and writing seq 1 again would fork it for good. Every identity's feed starts with its
 * profile message, so a restored feed always has a head somewhere; until a peer that has it is
 * reached, only the person's explicit override lets the engine write.
 */
export function headKnown(replicator: Replicator, feed: FeedId, localSeq: number): boolean {
  const announced = replicator.remoteSeq(feed)
  return announced !== undefined && announced > 0 && localSeq >= announced
}
