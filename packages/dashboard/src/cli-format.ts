/**
 * Text output of the `runner` CLI: tables, ages, progress bars, one-line changes. Pure functions
 * of their input (and `now`), so that every command prints alike.
 */
import type { Activity, ActivityEvent, ActivitySummary, PendingRequest, Trajectory } from '@runner/core'

/** How long ago `iso` was, in its largest unit: `12s`, `5m`, `3h`, `2d`. */
export function age(iso: string, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000))
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`
  return `${Math.floor(seconds / 86_400)}d`
}

/** A duration in ms as `850ms`, `12.3s`, `4m 05s`, `2h 03m`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const minutes = Math.floor(ms / 60_000)
  if (minutes < 60) return `${minutes}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`
}

/** `text` cut to `width` characters, the cut marked with `…`. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return ''
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`
}

/**
 * Rows as aligned columns under a header; the last column is not padded and is cut so that each
 * line fits in `width` characters when a width is given (a terminal's).
 */
export function table(header: string[], rows: string[][], width?: number): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: string[]) => {
    const text = cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
    return width === undefined ? text : truncate(text, width)
  }
  return [line(header), ...rows.map(line)].join('\n')
}

/** The `runner ls` table. */
export function runsTable(items: ActivitySummary[], now: number, width?: number): string {
  return table(
    ['ID', 'STATUS', '%', 'AGENT TYPE', 'AGE', 'MESSAGE'],
    items.map((item) => [
      item.agentId,
      item.status,
      String(item.percentage),
      item.agentType,
      age(item.createdAt, now),
      item.message.replace(/\s+/g, ' '),
    ]),
    width,
  )
}

/** A progress bar of `width` cells: `█████░░░░░`. */
export function bar(percentage: number, width = 20): string {
  const filled = Math.round((Math.min(100, Math.max(0, percentage)) / 100) * width)
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
}

/** One run as a live line: `id  [bar]  40%  running  message` (the bar on a terminal only). */
export function progressLine(activity: ActivitySummary, idWidth: number, withBar: boolean): string {
  const percentage = `${activity.percentage}%`.padStart(4)
  const parts = [activity.agentId.padEnd(idWidth), ...(withBar ? [bar(activity.percentage)] : []), percentage]
  parts.push(activity.status.padEnd(8), activity.message.replace(/\s+/g, ' '))
  return parts.join('  ')
}

/** `HH:MM:SS` of an ISO time, in local time. */
export function clock(iso: string): string {
  const date = new Date(iso)
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':')
}

/** One change as `runner tail` prints it. */
export function changeLine(event: ActivityEvent): string {
  const { entry } = event
  const percentage = entry.percentage === null ? '' : ` ${entry.percentage}%`
  const kind = entry.kind ? ` [${entry.kind}]` : ''
  const attempt = entry.attempt !== undefined ? ` (attempt ${entry.attempt})` : ''
  return `${clock(entry.at)}  ${event.agentId}  ${entry.status}${percentage}${kind}  ${entry.message.replace(/\s+/g, ' ')}${attempt}`
}

/** What `runner show` tells of a trajectory: turns, tokens, steps, and how it ended. */
export interface TrajectorySummary {
  status: Trajectory['status']
  turns: number
  steps: number
  stepsByKind: Record<string, number>
  usage: Trajectory['usage']
  startedAt: string
  finishedAt: string
  durationMs: number
}

export function summarizeTrajectory(trajectory: Trajectory): TrajectorySummary {
  const stepsByKind: Record<string, number> = {}
  let turns = 0
  for (const step of trajectory.steps) {
    stepsByKind[step.kind] = (stepsByKind[step.kind] ?? 0) + 1
    turns = Math.max(turns, step.turn)
  }
  return {
    status: trajectory.status,
    turns,
    steps: trajectory.steps.length,
    stepsByKind,
    usage: trajectory.usage,
    startedAt: trajectory.startedAt,
    finishedAt: trajectory.finishedAt,
    durationMs: Math.max(0, Date.parse(trajectory.finishedAt) - Date.parse(trajectory.startedAt)),
  }
}

const count = (value: number) => value.toLocaleString('en-US')

/** The `runner show` text. */
export function showText(
  activity: Activity,
  trajectory: TrajectorySummary | undefined,
  pending: PendingRequest[],
  now: number,
): string {
  const lines: string[] = []
  lines.push(`${activity.agentId}  ${activity.status}  ${activity.percentage}%  ${activity.agentType}`)
  lines.push(`  message   ${activity.message.replace(/\s+/g, ' ')}`)
  lines.push(`  created   ${activity.createdAt} (${age(activity.createdAt, now)} ago)`)
  if (activity.startedAt) lines.push(`  started   ${activity.startedAt}`)
  if (activity.finishedAt) {
    const took = activity.startedAt
      ? ` (took ${duration(Date.parse(activity.finishedAt) - Date.parse(activity.startedAt))})`
      : ''
    lines.push(`  finished  ${activity.finishedAt}${took}`)
  }
  const metadata = Object.entries(activity.metadata)
  if (metadata.length > 0) {
    lines.push(`  metadata  ${metadata.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(' ')}`)
  }
  lines.push('', `Log (${activity.log.length} entries)`)
  for (const entry of activity.log) {
    const percentage = entry.percentage === null ? '' : ` ${entry.percentage}%`
    const notes = [entry.kind, entry.attempt !== undefined ? `attempt ${entry.attempt}` : undefined]
      .filter(Boolean)
      .join(', ')
    lines.push(
      `  ${clock(entry.at)}  ${entry.status.padEnd(8)}${percentage.padStart(5)}  ${entry.message.replace(/\s+/g, ' ')}${notes ? `  (${notes})` : ''}`,
    )
  }
  lines.push('')
  if (trajectory) {
    const kinds = Object.entries(trajectory.stepsByKind)
      .map(([kind, number]) => `${number} ${kind}`)
      .join(', ')
    lines.push(
      `Trajectory (${trajectory.status}, ${duration(trajectory.durationMs)})`,
      `  turns   ${trajectory.turns}`,
      `  tokens  ${count(trajectory.usage.totalTokens)} (${count(trajectory.usage.inputTokens)} in, ${count(trajectory.usage.outputTokens)} out)`,
      `  steps   ${trajectory.steps}${kinds ? ` (${kinds})` : ''}`,
    )
  } else {
    lines.push('Trajectory: none recorded (it is saved when the run ends or waits)')
  }
  const undecided = pending.filter((request) => !request.decision)
  if (pending.length > 0) {
    lines.push('', `Pending requests (${undecided.length} of ${pending.length} undecided)`)
    for (const request of pending) {
      const what =
        request.kind === 'approval'
          ? `${request.toolName ?? 'tool'} ${JSON.stringify(request.input ?? null)}`
          : `input ${JSON.stringify(request.payload ?? null)}`
      const decision = request.decision
        ? `${request.decision.type === 'approve' ? 'approved' : request.decision.type === 'deny' ? 'denied' : 'answered'}${request.decision.by ? ` by ${request.decision.by}` : ''}`
        : 'undecided'
      lines.push(`  ${request.id}  ${truncate(what, 100)}  ${decision}`)
    }
    const approval = undecided.find((request) => request.kind === 'approval')
    if (approval) lines.push(`  Decide with: runner approve ${activity.agentId} ${approval.id} [--deny]`)
  }
  return lines.join('\n')
}
