import { describe, expect, it } from 'vitest'
import { CliUsageError, parseCliArgs } from './cli-options.js'

describe('parseCliArgs', () => {
  it('reads the module and every flag', () => {
    expect(
      parseCliArgs([
        './tasks.js',
        '--queue',
        'research',
        '--prefix',
        '{runner}',
        '--concurrency',
        '8',
        '--shutdown-timeout',
        '60000',
        '--lock-duration',
        '20000',
        '--stalled-interval',
        '10000',
        '--max-stalled-count',
        '2',
        '--rate-limit',
        '10/1000',
        '--requeue-on-shutdown',
      ]),
    ).toEqual({
      module: './tasks.js',
      queueName: 'research',
      prefix: '{runner}',
      concurrency: 8,
      shutdownTimeoutMs: 60_000,
      lockDurationMs: 20_000,
      stalledIntervalMs: 10_000,
      maxStalledCount: 2,
      limiter: { max: 10, durationMs: 1000 },
      requeueOnShutdown: true,
      help: false,
      version: false,
    })
  })

  it('leaves unset flags out', () => {
    expect(parseCliArgs(['tasks.js', '--queue=q'])).toEqual({
      module: 'tasks.js',
      queueName: 'q',
      help: false,
      version: false,
    })
  })

  it('answers --help and --version without a module', () => {
    expect(parseCliArgs(['--help']).help).toBe(true)
    expect(parseCliArgs(['-v']).version).toBe(true)
  })

  it.each([
    [[], 'the tasks module is missing'],
    [['a.js', 'b.js'], 'one tasks module only, got 2: a.js b.js'],
    [['a.js', '--concurrency', '0'], '--concurrency must be an integer >= 1, got "0"'],
    [['a.js', '--lock-duration', 'soon'], '--lock-duration must be an integer >= 100, got "soon"'],
    [['a.js', '--rate-limit', '10'], '--rate-limit must be <max>/<durationMs>'],
    [['a.js', '--qeue', 'q'], "Unknown option '--qeue'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(CliUsageError)
    expect(() => parseCliArgs(argv)).toThrow(message)
  })
})
