/**
 * The page's half of browser-to-browser connections (protocol.ts says who does what): it makes
 * the `RTCPeerConnection`s its engine worker asks for, answers the offers the worker passes on,
 * and hands each open data channel to the worker as a MessagePort. It decides nothing itself.
 */
import { channelBinding, type PortControl, type RtcFromPage, type RtcSignal, type RtcToPage } from './protocol.js'
import { startTrackers, type TrackerClient } from './tracker.js'

/** The worker as the page sees it. */
export interface RtcWorkerPort {
  postMessage(message: unknown, transfer: Transferable[]): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void
}

/** Options of {@link startRtc}. */
export interface RtcPageOptions {
  /** How long an offer or answer waits for its ICE candidates (ms, default 3000). */
  readonly gatherTimeoutMs?: number
  /** How long a connection may take to open before it is given up (ms, default 20 s). */
  readonly openTimeoutMs?: number
}

interface Link {
  readonly id: string
  readonly pc: RTCPeerConnection
  readonly initiator: boolean
  opened: boolean
  timer: ReturnType<typeof setTimeout>
}

/**
 * Serves the worker's WebRTC requests in this page, where `RTCPeerConnection` exists. Returns
 * the function that stops it (and closes every connection it made).
 */
export function startRtc(worker: RtcWorkerPort, opts: RtcPageOptions = {}): () => void {
  if (typeof RTCPeerConnection === 'undefined') return () => undefined
  const gatherMs = opts.gatherTimeoutMs ?? 3000
  const openMs = opts.openTimeoutMs ?? 20_000
  const links = new Map<string, Link>()
  let iceServers: RTCIceServer[] = []
  const post = (msg: RtcFromPage, transfer: Transferable[] = []) => worker.postMessage(msg, transfer)
  const signal = (to: string, s: RtcSignal) => post({ rtc: 'signal', to, signal: s })

  const drop = (remote: string, link: Link, reason: string | undefined) => {
    if (links.get(remote) !== link) return
    links.delete(remote)
    clearTimeout(link.timer)
    link.pc.close()
    if (reason !== undefined && !link.opened) post({ rtc: 'failed', remote, reason })
  }

  const newLink = (remote: string, id: string, initiator: boolean): Link => {
    const old = links.get(remote)
    if (old) drop(remote, old, undefined)
    const pc = new RTCPeerConnection({ iceServers })
    const link: Link = {
      id,
      pc,
      initiator,
      opened: false,
      timer: setTimeout(() => drop(remote, link, 'the connection did not open in time'), openMs),
    }
    links.set(remote, link)
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') drop(remote, link, 'no network path between the two browsers (ICE failed)')
    })
    pc.addEventListener('datachannel', (ev) => wire(remote, link, ev.channel))
    return link
  }

  const wire = (remote: string, link: Link, dc: RTCDataChannel) =>
    whenOpen(dc, () => {
      if (!handOver(worker, link.pc, dc, { remote, initiator: link.initiator }, () => drop(remote, link, undefined))) {
        drop(remote, link, 'the descriptions name no DTLS fingerprint')
        return
      }
      link.opened = true
      clearTimeout(link.timer)
    })

  const dial = async (remote: string) => {
    const link = newLink(remote, crypto.randomUUID(), true)
    wire(remote, link, link.pc.createDataChannel('murmur', { ordered: true }))
    try {
      await link.pc.setLocalDescription()
      const sdp = await gathered(link.pc, gatherMs)
      if (links.get(remote) === link) signal(remote, { v: 1, t: 'offer', id: link.id, sdp })
    } catch (err) {
      drop(remote, link, `could not make an offer: ${(err as Error).message}`)
    }
  }

  const onSignal = async (from: string, s: RtcSignal) => {
    if (s.t === 'offer') {
      // A copy of the offer being answered (relayed by another neighbour too), or any offer
      // while a link is open: keep what there is.
      const current = links.get(from)
      if (current && (current.id === s.id || current.opened)) return
      const link = newLink(from, s.id, false)
      try {
        await link.pc.setRemoteDescription({ type: 'offer', sdp: s.sdp })
        await link.pc.setLocalDescription()
        const sdp = await gathered(link.pc, gatherMs)
        if (links.get(from) === link) signal(from, { v: 1, t: 'answer', id: s.id, sdp })
      } catch (err) {
        signal(from, { v: 1, t: 'bye', id: s.id })
        drop(from, link, `could not answer: ${(err as Error).message}`)
      }
      return
    }
    const link = links.get(from)
    if (!link || link.id !== s.id) return
    if (s.t === 'bye') {
      drop(from, link, 'the other browser declined')
      return
    }
    if (!link.initiator || link.pc.signalingState !== 'have-local-offer') return
    try {
      await link.pc.setRemoteDescription({ type: 'answer', sdp: s.sdp })
    } catch (err) {
      drop(from, link, `the answer did not apply: ${(err as Error).message}`)
    }
  }

  // Trackers (rtc/tracker.ts): one client for the configured set, restarted when it changes.
  let trackers: { key: string; client: TrackerClient } | undefined
  const configure = (m: Extract<RtcToPage, { rtc: 'config' }>) => {
    iceServers = [...m.iceServers]
    const urls = Array.isArray(m.trackers) ? m.trackers.filter((u): u is string => typeof u === 'string') : []
    const key = JSON.stringify([urls, m.topic, iceServers])
    if (trackers?.key === key) return
    trackers?.client.stop()
    trackers = undefined
    if (urls.length === 0 || typeof m.topic !== 'string') return
    const client = startTrackers({
      urls,
      topic: m.topic,
      iceServers,
      gather: (pc) => gathered(pc, gatherMs),
      openTimeoutMs: openMs,
      open: (pc, dc, initiator, closed) => handOver(worker, pc, dc, { initiator }, closed),
    })
    trackers = { key, client }
  }

  const onMessage = (ev: MessageEvent) => {
    const m = ev.data as RtcToPage | undefined
    if (typeof m !== 'object' || m === null || !('rtc' in m)) return
    if (m.rtc === 'config') configure(m)
    else if (m.rtc === 'dial') void dial(m.remote)
    else if (m.rtc === 'signal') void onSignal(m.from, m.signal)
    else if (m.rtc === 'hangup') {
      const link = links.get(m.remote)
      if (link) drop(m.remote, link, undefined)
    }
  }
  worker.addEventListener('message', onMessage)
  return () => {
    worker.removeEventListener('message', onMessage)
    trackers?.client.stop()
    trackers = undefined
    for (const [remote, link] of links) drop(remote, link, undefined)
  }
}

/** Calls `fn` once `dc` is open (now, if it already is). */
function whenOpen(dc: RTCDataChannel, fn: () => void): void {
  dc.binaryType = 'arraybuffer'
  if (dc.readyState === 'open') fn()
  else dc.addEventListener('open', fn, { once: true })
}

/**
 * Hands an open data channel to the worker: binds it to both descriptions' DTLS fingerprints
 * ({@link channelBinding}), bridges it to a new MessagePort and posts that port in an `open`
 * message (`remote` absent for a browser met through a tracker). `closed` runs when either side
 * closes the channel. False, and nothing posted, when a description names no fingerprint (the
 * caller closes the connection: it could not be told from a relayed one).
 */
export function handOver(
  worker: RtcWorkerPort,
  pc: RTCPeerConnection,
  dc: RTCDataChannel,
  who: { readonly remote?: string; readonly initiator: boolean },
  closed: () => void,
): boolean {
  const local = pc.localDescription?.sdp
  const remoteSdp = pc.remoteDescription?.sdp
  const binding = local && remoteSdp ? channelBinding(local, remoteSdp) : undefined
  if (!binding) return false
  const { port1, port2 } = new MessageChannel()
  bridge(dc, port1, closed)
  const msg: RtcFromPage = {
    rtc: 'open',
    ...(who.remote === undefined ? {} : { remote: who.remote }),
    initiator: who.initiator,
    binding,
    port: port2,
  }
  worker.postMessage(msg, [port2])
  return true
}

/** The local description once ICE gathering is complete, or when `ms` ran out. */
function gathered(pc: RTCPeerConnection, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      pc.removeEventListener('icegatheringstatechange', check)
      const sdp = pc.localDescription?.sdp
      if (sdp) resolve(sdp)
      else reject(new Error('no local description'))
    }
    const check = () => {
      if (pc.iceGatheringState === 'complete') done()
    }
    const timer = setTimeout(done, ms)
    pc.addEventListener('icegatheringstatechange', check)
    check()
  })
}

/**
 * Joins a data channel and the worker's MessagePort: frames (ArrayBuffers) both ways; after each
 * frame it sends, the page tells the worker how much the channel still buffers, so the worker's
 * sender can hold back (and is told again when the buffer runs low). Either side closing closes
 * the other.
 */
function bridge(dc: RTCDataChannel, port: MessagePort, closed: () => void): void {
  let open = true
  const close = (reason: string, tellWorker: boolean) => {
    if (!open) return
    open = false
    if (tellWorker) port.postMessage({ close: reason } satisfies PortControl)
    port.close()
    dc.close()
    closed()
  }
  dc.bufferedAmountLowThreshold = 256 * 1024
  dc.addEventListener('message', (ev) => {
    if (ev.data instanceof ArrayBuffer) port.postMessage(ev.data, [ev.data])
  })
  dc.addEventListener('bufferedamountlow', () =>
    port.postMessage({ sent: 0, buffered: dc.bufferedAmount } satisfies PortControl),
  )
  dc.addEventListener('close', () => close('the WebRTC channel closed', true))
  port.onmessage = (ev: MessageEvent) => {
    const d = ev.data as ArrayBuffer | PortControl
    if (d instanceof ArrayBuffer) {
      try {
        if (dc.readyState === 'open') dc.send(d)
      } catch (err) {
        close(`the WebRTC channel failed: ${(err as Error).message}`, true)
        return
      }
      port.postMessage({ sent: d.byteLength, buffered: dc.bufferedAmount } satisfies PortControl)
    } else if (typeof d === 'object' && d !== null && 'close' in d) {
      close(d.close, false)
    }
  }
}
