import { describe, expect, it } from 'vitest'
import { age, bar, duration, progressLine, runsTable, truncate } from './cli-format.js'

const run = {
  agentId: 'run-1',
  agentType: 'research',
  status: 'running' as const,
  message: 'Searching\nthe web',
  percentage: 40,
  metadata: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
}

describe('the CLI text', () => {
  it('ages and durations in their largest unit', () => {
    const now = Date.parse('2026-01-01T00:00:00.000Z')
    expect(age('2026-01-01T00:00:00.000Z', now + 12_000)).toBe('12s')
    expect(age('2026-01-01T00:00:00.000Z', now + 5 * 60_000)).toBe('5m')
    expect(age('2026-01-01T00:00:00.000Z', now + 3 * 3_600_000)).toBe('3h')
    expect(age('2026-01-01T00:00:00.000Z', now + 2 * 86_400_000)).toBe('2d')
    expect(duration(850)).toBe('850ms')
    expect(duration(12_300)).toBe('12.3s')
    expect(duration(245_000)).toBe('4m 05s')
  })

  it('a progress bar of 20 cells, and a live line with or without it', () => {
    expect(bar(0)).toBe('░'.repeat(20))
    expect(bar(40)).toBe(`${'█'.repeat(8)}${'░'.repeat(12)}`)
    expect(bar(150)).toBe('█'.repeat(20))
    expect(progressLine(run, 6, true)).toBe(`run-1   ${bar(40)}   40%  running   Searching the web`)
    expect(progressLine(run, 0, false)).toBe('run-1   40%  running   Searching the web')
  })

  it('a table whose columns line up, cut to a terminal width', () => {
    const now = Date.parse(run.createdAt) + 7_000
    expect(runsTable([run], now)).toBe(
      [
        'ID     STATUS   %   AGENT TYPE  AGE  MESSAGE',
        'run-1  running  40  research    7s   Searching the web',
      ].join('\n'),
    )
    expect(runsTable([run], now, 30).split('\n')[1]).toBe('run-1  running  40  research …')
    expect(truncate('abcdef', 4)).toBe('abc…')
  })
})
