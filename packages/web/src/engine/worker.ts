/**
 * The engine worker every tab starts (rpc.ts `connectEngine`): it joins the election of the
 * origin's engine workers (hub.ts) and serves its page. Only the worker holding the lock opens
 * the engine with the browser's parts (platform.ts).
 */

import type { RpcPort } from '../rpc.js'
import type { RtcFromPage } from '../rtc/protocol.js'
import { Engine } from './engine.js'
import { Hub } from './hub.js'
import { browserPlatform } from './platform.js'
import type { RtcBridge } from './rtc.js'

// This worker's page makes its WebRTC connections (RTCPeerConnection exists only in windows).
const rtc: RtcBridge = {
  post: (msg) => (globalThis as unknown as RpcPort).postMessage(msg),
  listen: (fn) => {
    const onMessage = (ev: MessageEvent) => {
      const m = ev.data as RtcFromPage | undefined
      if (typeof m === 'object' && m !== null && 'rtc' in m) fn(m)
    }
    globalThis.addEventListener('message', onMessage)
    return () => globalThis.removeEventListener('message', onMessage)
  },
}

new Hub({
  locks: navigator.locks,
  channel: new BroadcastChannel('murmur-engine'),
  // A dedicated worker's global scope posts to and hears from its page.
  page: globalThis as unknown as RpcPort,
  open: async () => Engine.open(await browserPlatform({ rtc })),
})
