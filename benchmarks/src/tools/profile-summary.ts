/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and
 * the share of the profile spent inside (inclusive) each file of ours.
 *
 *   node --cpu-prof --cpu-prof-dir=prof src/tools/profile-contender.ts 1-claude runner
 *   node src/tools/profile-summary.ts prof/<file>.cpuprofile [--top 30] [--filter packages/]
 *   node src/tools/profile-summary.ts runner.cpuprofile --baseline bare.cpuprofile
 *
 * With `--baseline` (a profile of the same number of runs of the baseline), it prints what the
 * subject spends more than the baseline, function by function (self and inclusive time).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    filter: { type: 'string' },
    baseline: { type: 'string' },
  },
})
const file = positionals[0]
if (!file) {
  console.error(
    'usage: node src/tools/profile-summary.ts <file.cpuprofile> [--top 30] [--filter <url part>] [--baseline <file.cpuprofile>]',
  )
  process.exit(2)
}
const shortUrl = (url: string): string =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
    .replace(/.*\/work\/main\//, '')
const label = (node: ProfileNode): string =>
  `${node.callFrame.functionName || '(anonymous)'} ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`

interface Summary {
  total: number
  idle: number
  self: Map<string, number>
  inclusive: Map<string, number>
}

function summarize(path: string): Summary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const summary: Summary = { total: 0, idle: 0, self: new Map(), inclusive: new Map() }
  // Time per sample: the delta that follows it.
  profile.samples.forEach((id, index) => {
    const time = profile.timeDeltas[index + 1] ?? 0
    summary.total += time
    const node = byId.get(id)
    if (!node) return
    if (node.callFrame.functionName === '(idle)') summary.idle += time
    summary.self.set(label(node), (summary.self.get(label(node)) ?? 0) + time)
    const seen = new Set<string>()
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current)
      if (!frame) break
      const key = label(frame)
      if (seen.has(key)) continue
      seen.add(key)
      summary.inclusive.set(key, (summary.inclusive.get(key) ?? 0) + time)
    }
  })
  return summary
}

const subject = summarize(file)
const baseline = values.baseline ? summarize(values.baseline) : undefined
/** `subject - baseline` per function. */
function minus(ours: Map<string, number>, theirs: Map<string, number> | undefined): Map<string, number> {
  if (!theirs) return ours
  const keys = new Set([...ours.keys(), ...theirs.keys()])
  return new Map([...keys].map((key) => [key, (ours.get(key) ?? 0) - (theirs.get(key) ?? 0)]))
}
const total = subject.total
const self = minus(subject.self, baseline?.self)
const inclusive = minus(subject.inclusive, baseline?.inclusive)

const top = Number(values.top)
const filter = values.filter
const percent = (time: number) => `${((time / total) * 100).toFixed(1).padStart(5)}%`
const print = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`)
  const ranked = [...entries.entries()]
    .filter(([key]) => !filter || key.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
  for (const [key, time] of ranked) {
    console.log(`${percent(time)}  ${(time / 1000).toFixed(0).padStart(7)} ms  ${key}`)
  }
}
const busy = (summary: Summary) => ((summary.total - summary.idle) / 1000).toFixed(0)
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${busy(subject)} ms busy (not idle)`)
if (baseline && values.baseline) {
  console.log(
    `baseline ${values.baseline}: ${busy(baseline)} ms busy; shares below are of the subject's total`,
  )
}
print(baseline ? 'self time, more than the baseline' : 'self time', self)
print(baseline ? 'inclusive time, more than the baseline' : 'inclusive time', inclusive)
