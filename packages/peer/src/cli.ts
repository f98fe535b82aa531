/**
 * `murmur`: the command line of a Murmur peer. Every command takes `--data DIR` (default: the
 * platform's user data folder) and `--json` (machine-readable output). Errors are one line on
 * stderr and a meaningful exit code (errors.ts), never a stack trace.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { formatFeedId } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { COMMANDS, type Command, type Input } from './commands.js'
import { callControl } from './control.js'
import { CliError, EXIT } from './errors.js'
import { createIdentity, loadIdentity } from './identity.js'
import { openLocal } from './local.js'
import { NETWORK_COMMANDS } from './network.js'
import { dataPaths, defaultDataDir } from './paths.js'

const GLOBAL = {
  data: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

interface Out {
  json: boolean
  print(result: unknown, text: string): void
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function help(): string {
  const rows: [string, string][] = [
    ['init', 'make an identity for this data folder (never overwrites one)'],
    ['whoami', 'print your id'],
    ...[...COMMANDS.values(), ...NETWORK_COMMANDS.values()].map((c): [string, string] => [c.usage, c.summary]),
  ]
  // A usage too long for the column gets its summary on the next line.
  const w = Math.min(40, Math.max(...rows.map(([u]) => u.length)))
  return [
    'usage: murmur COMMAND [ARGS] [--data DIR] [--json]',
    '',
    ...rows.map(([u, s]) => (u.length <= w ? `  ${u.padEnd(w)}  ${s}` : `  ${u}\n  ${''.padEnd(w)}  ${s}`)),
    '',
    `--data DIR  the data folder (default ${defaultDataDir()})`,
    '--json      output for programs',
    'exit codes: 0 ok, 1 failed, 2 wrong arguments, 3 no identity, 4 data folder in use, 5 peer unreachable',
  ].join('\n')
}

function parse(
  cmd: Pick<Command, 'options' | 'positionals' | 'usage'>,
  args: string[],
): Input & { data: string; json: boolean } {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args, options: { ...GLOBAL, ...(cmd.options ?? {}) }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]}\nusage: murmur ${cmd.usage}`, EXIT.usage)
  }
  const [min, max] = cmd.positionals
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw new CliError(`usage: murmur ${cmd.usage}`, EXIT.usage)
  }
  const values = parsed.values as Input['values']
  return {
    positionals: parsed.positionals,
    values,
    data: typeof values.data === 'string' ? values.data : defaultDataDir(),
    json: values.json === true,
  }
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  const json = argv.includes('--json')
  const out: Out = {
    json,
    print(result, text) {
      process.stdout.write(`${json ? JSON.stringify(result, null, 2) : text}\n`)
    },
  }
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      process.stdout.write(`${help()}\n`)
      return name === undefined ? EXIT.usage : EXIT.ok
    }
    if (name === '--version' || name === 'version') {
      process.stdout.write(`${version()}\n`)
      return EXIT.ok
    }
    if (name === 'init' || name === 'whoami') {
      const input = parse({ usage: name, positionals: [0, 0] }, rest)
      const ed = createSodiumEd25519()
      const path = dataPaths(input.data).secret
      const keys = name === 'init' ? await createIdentity(ed, path) : await loadIdentity(ed, path)
      const id = formatFeedId(keys.publicKey)
      out.print(
        { id, dataDir: input.data },
        name === 'init'
          ? `created your identity ${id}\nits secret key is in ${path}: keep a copy somewhere safe — whoever has it is you`
          : id,
      )
      return EXIT.ok
    }
    const network = NETWORK_COMMANDS.get(name)
    if (network) return await network.main(parse(network, rest), out)
    const cmd = COMMANDS.get(name)
    if (!cmd) throw new CliError(`unknown command "${name}"; run \`murmur help\``, EXIT.usage)
    const input = parse(cmd, rest)
    let result: unknown
    try {
      const local = await openLocal(input.data)
      try {
        result = await cmd.run(local, input)
      } finally {
        await local.close()
      }
    } catch (err) {
      if (!(err instanceof CliError && err.exitCode === EXIT.locked)) throw err
      // A running `serve` holds the folder: ask it to run the command.
      result = await callControl(
        dataPaths(input.data).socket,
        cmd.name,
        cmd.forward?.(input) ?? { positionals: input.positionals, values: input.values },
      )
    }
    out.print(result, cmd.text(result as never))
    return EXIT.ok
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(
        json ? `${JSON.stringify({ error: err.message, exitCode: err.exitCode })}\n` : `murmur: ${err.message}\n`,
      )
      return err.exitCode
    }
    process.stderr.write(`murmur: unexpected error: ${(err as Error)?.message ?? err}\n`)
    return EXIT.failed
  }
}
