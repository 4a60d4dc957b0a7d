import { compareRow, type Row, type Target, targets } from './results.ts'
import { type Samples, series } from './rounds.ts'
import { differences, median, ratios } from './stats.ts'

/** What to call the contenders `bare`, `runner`, `runner-no-trajectory`, `runner-not-durable` and `peer` in the table. */
export interface AdapterNames {
  runner: string
  bare: string
  /** Absent when the framework has no peer to compare with. */
  peer?: string
  /** The target of the runner vs bare rows. Default: `targets.adapterOverhead` (≤ 1.05×). */
  runnerTarget?: Target
}

/** The note of a row: wall time added per run, and the ratio of this process's CPU time. */
function added(samples: Samples, subject: string, reference: string): string {
  const wall = Math.round(median(differences(series(samples, subject), series(samples, reference))) * 1000)
  const cpu = median(ratios(series(samples, subject, 'cpuMs'), series(samples, reference, 'cpuMs')))
  return `${wall >= 0 ? '+' : ''}${wall.toLocaleString('en-US')} µs/run; client CPU ${cpu.toFixed(2)}×`
}

/** The CPU-time series of a pair, for the row's `cpuRatio`. */
const cpuOf = (samples: Samples, subject: string, reference: string) => ({
  subject: series(samples, subject, 'cpuMs'),
  reference: series(samples, reference, 'cpuMs'),
})

/** Case 1's rows for one adapter: runner vs bare (trajectory on and off), peer vs bare, runner vs peer. */
export function adapterRows(samples: Samples, names: AdapterNames): Row[] {
  const bare = series(samples, 'bare')
  const runner = series(samples, 'runner')
  const runnerNoTrajectory = series(samples, 'runner-no-trajectory')
  const rows: Row[] = [
    compareRow({
      measure: `${names.runner} vs ${names.bare}`,
      unit: 'ms/run',
      subject: runner,
      reference: bare,
      referenceName: names.bare,
      cpu: cpuOf(samples, 'runner', 'bare'),
      target: names.runnerTarget ?? targets.adapterOverhead,
      note: added(samples, 'runner', 'bare'),
    }),
    compareRow({
      measure: `${names.runner}, recordTrajectory off, vs ${names.bare}`,
      unit: 'ms/run',
      subject: runnerNoTrajectory,
      reference: bare,
      referenceName: names.bare,
      cpu: cpuOf(samples, 'runner-no-trajectory', 'bare'),
      target: names.runnerTarget ?? targets.adapterOverhead,
      note: added(samples, 'runner-no-trajectory', 'bare'),
    }),
  ]
  if (samples['runner-not-durable']) {
    rows.push(
      compareRow({
        measure: `${names.runner}, durable: false, vs ${names.bare}`,
        unit: 'ms/run',
        subject: series(samples, 'runner-not-durable'),
        reference: bare,
        referenceName: names.bare,
        cpu: cpuOf(samples, 'runner-not-durable', 'bare'),
        note: added(samples, 'runner-not-durable', 'bare'),
      }),
    )
  }
  if (names.peer) {
    const peer = series(samples, 'peer')
    rows.push(
      compareRow({
        measure: `${names.peer} vs ${names.bare}`,
        unit: 'ms/run',
        subject: peer,
        reference: bare,
        referenceName: names.bare,
        cpu: cpuOf(samples, 'peer', 'bare'),
        note: added(samples, 'peer', 'bare'),
      }),
      compareRow({
        measure: `${names.runner} vs ${names.peer}`,
        unit: 'ms/run',
        subject: runner,
        reference: peer,
        referenceName: names.peer,
        cpu: cpuOf(samples, 'runner', 'peer'),
        target: targets.fasterThanPeer,
        note: added(samples, 'runner', 'peer'),
      }),
    )
  }
  return rows
}

/** A peer of a lane: its contender's name in the samples and its name in the table. */
export interface PeerName {
  contender: string
  name: string
}

/**
 * The rows of peers measured in the same rounds as `adapterRows`' contenders: each peer vs the bare
 * SDK (information), and the runner vs each peer (target: faster than the peer).
 */
export function peerRows(samples: Samples, names: AdapterNames, peers: readonly PeerName[]): Row[] {
  const rows: Row[] = []
  for (const peer of peers) {
    if (!samples[peer.contender]) continue
    rows.push(
      compareRow({
        measure: `${peer.name} vs ${names.bare}`,
        unit: 'ms/run',
        subject: series(samples, peer.contender),
        reference: series(samples, 'bare'),
        referenceName: names.bare,
        cpu: cpuOf(samples, peer.contender, 'bare'),
        note: added(samples, peer.contender, 'bare'),
      }),
      compareRow({
        measure: `${names.runner} vs ${peer.name}`,
        unit: 'ms/run',
        subject: series(samples, 'runner'),
        reference: series(samples, peer.contender),
        referenceName: peer.name,
        cpu: cpuOf(samples, 'runner', peer.contender),
        target: targets.fasterThanPeer,
        note: added(samples, 'runner', peer.contender),
      }),
    )
  }
  return rows
}
