/** The commands that go on the network: `serve` and `sync` (filled in with replication). */
import type { Command, Input } from './commands.js'

/** A command that runs its own lifecycle (network, signals) and returns its exit code. */
export interface NetworkCommand extends Pick<Command, 'name' | 'usage' | 'summary' | 'options' | 'positionals'> {
  main(
    input: Input & { data: string; json: boolean },
    out: { json: boolean; print(r: unknown, t: string): void },
  ): Promise<number>
}

export const NETWORK_COMMANDS: ReadonlyMap<string, NetworkCommand> = new Map()
