/** The default views of a store, constructed with the store they query. */
import type { Store } from '../store.js'
import { BlocksView } from './blocks.js'
import { GraphView } from './graph.js'
import { ProfilesView } from './profiles.js'
import { ThreadsView } from './threads.js'
import { TimelineView } from './timeline.js'
import { VotesView } from './votes.js'

export type { HopsOptions, Suggestion } from './graph.js'
export type { Profile } from './profiles.js'
export type { Thread } from './threads.js'
export type { AuthorPage, PageOptions, TimelineItem, TimelinePage } from './timeline.js'
export type { Votes } from './votes.js'
export { BlocksView, GraphView, ProfilesView, ThreadsView, TimelineView, VotesView }

/** Every view a store keeps, by name. */
export interface Views {
  readonly timeline: TimelineView
  readonly threads: ThreadsView
  readonly graph: GraphView
  readonly profiles: ProfilesView
  readonly votes: VotesView
  readonly blocks: BlocksView
}

/** The views of `store`. */
export function defaultViews(store: Store): Views {
  return {
    timeline: new TimelineView(store),
    threads: new ThreadsView(store),
    graph: new GraphView(store),
    profiles: new ProfilesView(store),
    votes: new VotesView(store),
    blocks: new BlocksView(store),
  }
}
