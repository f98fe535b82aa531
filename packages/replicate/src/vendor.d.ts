/**
 * Types of the CommonJS package the handshake uses, which ships none: only what this package
 * calls. noise-handshake (Holepunch) runs the Noise state machine (its Diffie-Hellman is
 * ./curve.ts); its hashing and sealing come from sodium-universal (sodium-native in Node; the
 * web app's build swaps in @murmur/web's sodium-browser.ts).
 */

declare module 'noise-handshake' {
  interface NoiseKeyPair {
    publicKey: Uint8Array
    secretKey: Uint8Array
  }
  interface NoiseOptions {
    curve?: unknown
    psk?: Uint8Array
  }
  class NoiseState {
    constructor(pattern: string, initiator: boolean, staticKeypair?: NoiseKeyPair | null, opts?: NoiseOptions)
    initialise(prologue: Uint8Array, remoteStatic?: Uint8Array): void
    send(payload?: Uint8Array): Uint8Array
    recv(buf: Uint8Array): Uint8Array
    readonly complete: boolean
    readonly rs: Uint8Array | null
    readonly tx: Uint8Array | null
    readonly rx: Uint8Array | null
    readonly hash: Uint8Array | null
  }
  export = NoiseState
}

declare module 'noise-handshake/cipher.js' {
  class CipherState {
    constructor(key?: Uint8Array)
    encrypt(plaintext: Uint8Array, ad?: Uint8Array): Uint8Array
    decrypt(ciphertext: Uint8Array, ad?: Uint8Array): Uint8Array
    nonce: number
  }
  export = CipherState
}
