/** @murmur/peer — the always-on peer and the `murmur` command line for Node. */
export { main } from './cli.js'
export { COMMANDS } from './commands.js'
export { CliError, EXIT } from './errors.js'
export { defaultDataDir } from './paths.js'
