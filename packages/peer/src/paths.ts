/** Where a Murmur peer keeps its data: the platform's user data folder unless told otherwise. */
import { createHash } from 'node:crypto'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * The default data folder: `$XDG_DATA_HOME/murmur` (or `~/.local/share/murmur`) on Linux and
 * other Unixes, `~/Library/Application Support/Murmur` on macOS, `%APPDATA%\Murmur` on Windows.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Murmur')
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Murmur')
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'murmur')
}

/** The files inside a data folder. */
export function dataPaths(dir: string): { secret: string; db: string; socket: string; config: string } {
  return {
    secret: join(dir, 'secret'),
    db: join(dir, 'db'),
    socket: socketPath(dir),
    config: join(dir, 'config.json'),
  }
}

/**
 * The control socket of a running `serve` (a Unix socket, mode 0600, or a named pipe on
 * Windows). Unix socket paths are limited to about 100 bytes, so a long data path falls back
 * to a name in the temp folder derived from the data folder.
 */
export function socketPath(dir: string): string {
  const abs = resolve(dir)
  const digest = createHash('sha256').update(abs).digest('hex').slice(0, 16)
  if (process.platform === 'win32') return `\\\\.\\pipe\\murmur-${digest}`
  const inside = join(abs, 'murmur.sock')
  return Buffer.byteLength(inside) <= 100 ? inside : join(tmpdir(), `murmur-${digest}.sock`)
}
