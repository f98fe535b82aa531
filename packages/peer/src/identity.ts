/**
 * The identity of a data folder: the secret seed, kept as its backup text in `DATA/secret`
 * with mode 0600 (only this user can read it). It is created once and never overwritten.
 */
import { chmod, mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { type Ed25519, formatBackup, type Keypair, keypairFromSeed, parseBackup } from '@murmur/core'
import { CliError, EXIT } from './errors.js'

/**
 * Makes a new identity and writes it to `path`.
 * @throws {CliError} when an identity is already there (it is never overwritten).
 */
export async function createIdentity(ed: Ed25519, path: string): Promise<Keypair> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const seed = globalThis.crypto.getRandomValues(new Uint8Array(32))
  const keys = await keypairFromSeed(ed, seed)
  let file: Awaited<ReturnType<typeof open>>
  try {
    file = await open(path, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError(`an identity already exists in ${dirname(path)}; it is never overwritten`, EXIT.failed)
    }
    throw err
  }
  try {
    await file.writeFile(`${formatBackup(seed)}\n`)
    await file.sync()
  } finally {
    await file.close()
  }
  await chmod(path, 0o600)
  return keys
}

/**
 * Reads the identity at `path`.
 * @throws {CliError} `noIdentity` when there is none; `failed` when the file is damaged.
 */
export async function loadIdentity(ed: Ed25519, path: string): Promise<Keypair> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(`no identity in ${dirname(path)}: run \`murmur init\` first`, EXIT.noIdentity)
    }
    throw err
  }
  try {
    return await keypairFromSeed(ed, parseBackup(text))
  } catch (cause) {
    throw new CliError(`the identity file ${path} is damaged: ${(cause as Error).message}`, EXIT.failed, { cause })
  }
}
