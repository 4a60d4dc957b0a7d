import { afterEach, describe, expect, it, vi } from 'vitest'
import { createActivityTracker } from '../activity/tracker.js'
import { ConfigError, type ConfigIssue } from '../errors/config-error.js'
import { loadConfig } from './index.js'
import { editDistance, suggestKey } from './suggest-key.js'

/** The issues of the `ConfigError` that `loadConfig(env)` throws. */
function issuesOf(env: Record<string, string>): ConfigIssue[] {
  try {
    loadConfig(env)
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true)
    return (error as ConfigError).issues
  }
  throw new Error('loadConfig did not throw')
}

describe('loadConfig', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('returns the defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      store: { kind: 'memory' },
      concurrency: 4,
      maxTurns: 10,
      retry: { attempts: 3, initialDelayMs: 500, maxDelayMs: 10_000 },
      recordTrajectory: true,
      messages: {},
    })
  })

  it('leaves optional settings absent when unset', () => {
    const config = loadConfig({})
    expect('redisUrl' in config).toBe(false)
    expect('timeoutMs' in config).toBe(false)
  })

  it('treats empty strings as unset', () => {
    const config = loadConfig({
      RUNNER_STORE_URL: '',
      RUNNER_REDIS_URL: '',
      RUNNER_CONCURRENCY: '',
      RUNNER_TIMEOUT_MS: '',
      RUNNER_MESSAGE_ERROR: '',
    })
    expect(config).toEqual(loadConfig({}))
  })

  it('ignores variables without the RUNNER_ prefix', () => {
    expect(loadConfig({ PATH: '/usr/bin', CONCURRENCY: 'abc', MY_RUNNER_X: '1' })).toEqual(loadConfig({}))
  })

  it('ignores the RUNNER_* variables that GitHub Actions sets', () => {
    const config = loadConfig({
      RUNNER_OS: 'Linux',
      RUNNER_TEMP: '/tmp',
      RUNNER_TOOL_CACHE: '/opt/hostedtoolcache',
    })
    expect(config).toEqual(loadConfig({}))
  })

  it('reads process.env by default', () => {
    vi.stubEnv('RUNNER_CONCURRENCY', '7')
    expect(loadConfig().concurrency).toBe(7)
  })

  it('returns a frozen config, nested objects included', () => {
    const config = loadConfig({ RUNNER_MESSAGE_QUEUED: 'Queued' })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.store)).toBe(true)
    expect(Object.isFrozen(config.retry)).toBe(true)
    expect(Object.isFrozen(config.messages)).toBe(true)
  })

  describe('RUNNER_STORE_URL', () => {
    it.each([
      ['memory:', { kind: 'memory' }],
      ['sqlite:./data/runner.db', { kind: 'sqlite', path: './data/runner.db' }],
      ['sqlite:/var/lib/runner.db', { kind: 'sqlite', path: '/var/lib/runner.db' }],
      ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
      ['file:runner.db', { kind: 'sqlite', path: 'runner.db' }],
      ['file:///var/lib/my%20runner.db', { kind: 'sqlite', path: '/var/lib/my runner.db' }],
      [
        'postgres://user:secret@db:5432/runner',
        { kind: 'postgres', url: 'postgres://user:secret@db:5432/runner' },
      ],
      [
        'postgresql://db/runner?sslmode=require',
        { kind: 'postgres', url: 'postgresql://db/runner?sslmode=require' },
      ],
    ])('parses %s', (value, store) => {
      expect(loadConfig({ RUNNER_STORE_URL: value }).store).toEqual(store)
    })

    it.each([
      'mysql://db/runner',
      'memory',
      'sqlite:',
      'file:',
      'file://remote-host/runner.db',
      'postgres:db',
      'postgres://[bad',
    ])('rejects %s', (value) => {
      expect(issuesOf({ RUNNER_STORE_URL: value })).toEqual([
        {
          key: 'RUNNER_STORE_URL',
          message: `must be memory:, sqlite:<path>, file:<path> or a postgres:// or postgresql:// URL, got ${JSON.stringify(value)}`,
        },
      ])
    })

    it('masks the password of a rejected URL', () => {
      const [issue] = issuesOf({ RUNNER_STORE_URL: 'mysql://user:secret@db/runner' })
      expect(issue?.message).toContain('mysql://user:***@db/runner')
      expect(issue?.message).not.toContain('secret')
    })
  })

  describe('RUNNER_REDIS_URL', () => {
    it.each(['redis://127.0.0.1:6379', 'rediss://user:secret@cache.example.com:6380/2'])(
      'accepts %s',
      (value) => {
        expect(loadConfig({ RUNNER_REDIS_URL: value }).redisUrl).toBe(value)
      },
    )

    it.each(['http://cache:6379', 'cache:6379', 'redis://[bad'])('rejects %s', (value) => {
      expect(issuesOf({ RUNNER_REDIS_URL: value })).toEqual([
        {
          key: 'RUNNER_REDIS_URL',
          message: `must be a redis:// or rediss:// URL, got ${JSON.stringify(value)}`,
        },
      ])
    })

    it('masks the password of a rejected URL', () => {
      const [issue] = issuesOf({ RUNNER_REDIS_URL: 'http://default:secret@cache:6379' })
      expect(issue?.message).not.toContain('secret')
    })
  })

  describe.each([
    ['RUNNER_CONCURRENCY', 'concurrency'],
    ['RUNNER_MAX_TURNS', 'maxTurns'],
  ] as const)('%s', (key, field) => {
    it('reads a positive integer', () => {
      expect(loadConfig({ [key]: '25' })[field]).toBe(25)
      expect(loadConfig({ [key]: ' 3 ' })[field]).toBe(3)
    })

    it.each(['abc', '0', '-1', '1.5', '1e3', '+2', '0x10', '99999999999999999999'])('rejects %s', (value) => {
      expect(issuesOf({ [key]: value })).toEqual([
        { key, message: `must be a positive integer, got ${JSON.stringify(value)}` },
      ])
    })
  })

  it('gives the exact message of the documentation example', () => {
    expect(() => loadConfig({ RUNNER_CONCURRENCY: 'abc' })).toThrow(
      'Invalid configuration: RUNNER_CONCURRENCY: must be a positive integer, got "abc"',
    )
  })

  describe('RUNNER_TIMEOUT_MS', () => {
    it('reads a positive integer of milliseconds', () => {
      expect(loadConfig({ RUNNER_TIMEOUT_MS: '30000' }).timeoutMs).toBe(30_000)
    })

    it.each(['0', 'soon', '2147483648'])('rejects %s (too large overflows setTimeout)', (value) => {
      expect(issuesOf({ RUNNER_TIMEOUT_MS: value })).toEqual([
        {
          key: 'RUNNER_TIMEOUT_MS',
          message: `must be a positive integer of milliseconds, at most 2147483647, got ${JSON.stringify(value)}`,
        },
      ])
    })
  })

  describe('retry', () => {
    it('reads attempts and delays', () => {
      const config = loadConfig({
        RUNNER_RETRY_ATTEMPTS: '3',
        RUNNER_RETRY_INITIAL_DELAY_MS: '100',
        RUNNER_RETRY_MAX_DELAY_MS: '2000',
      })
      expect(config.retry).toEqual({ attempts: 3, initialDelayMs: 100, maxDelayMs: 2000 })
    })

    it('accepts a zero delay and equal delays', () => {
      const config = loadConfig({ RUNNER_RETRY_INITIAL_DELAY_MS: '0', RUNNER_RETRY_MAX_DELAY_MS: '0' })
      expect(config.retry).toEqual({ attempts: 3, initialDelayMs: 0, maxDelayMs: 0 })
    })

    it.each(['0', '-1', 'many'])('rejects %s attempts', (value) => {
      expect(issuesOf({ RUNNER_RETRY_ATTEMPTS: value })).toEqual([
        { key: 'RUNNER_RETRY_ATTEMPTS', message: `must be an integer >= 1, got ${JSON.stringify(value)}` },
      ])
    })

    it.each(['RUNNER_RETRY_INITIAL_DELAY_MS', 'RUNNER_RETRY_MAX_DELAY_MS'])('rejects a bad %s', (key) => {
      expect(issuesOf({ [key]: '-5' })).toEqual([
        { key, message: 'must be an integer of milliseconds from 0 to 2147483647, got "-5"' },
      ])
    })

    it('rejects a max delay below the initial delay', () => {
      expect(issuesOf({ RUNNER_RETRY_INITIAL_DELAY_MS: '1000', RUNNER_RETRY_MAX_DELAY_MS: '200' })).toEqual([
        {
          key: 'RUNNER_RETRY_MAX_DELAY_MS',
          message: 'must be >= RUNNER_RETRY_INITIAL_DELAY_MS (1000), got "200"',
        },
      ])
    })

    it('compares with the default initial delay', () => {
      expect(issuesOf({ RUNNER_RETRY_MAX_DELAY_MS: '100' })).toEqual([
        {
          key: 'RUNNER_RETRY_MAX_DELAY_MS',
          message: 'must be >= RUNNER_RETRY_INITIAL_DELAY_MS (500 by default), got "100"',
        },
      ])
    })

    it('compares with the default max delay', () => {
      expect(issuesOf({ RUNNER_RETRY_INITIAL_DELAY_MS: '60000' })).toEqual([
        {
          key: 'RUNNER_RETRY_INITIAL_DELAY_MS',
          message: 'must be <= RUNNER_RETRY_MAX_DELAY_MS (10000 by default), got "60000"',
        },
      ])
    })

    it('does not compare when a delay is itself invalid', () => {
      expect(
        issuesOf({ RUNNER_RETRY_INITIAL_DELAY_MS: '1000', RUNNER_RETRY_MAX_DELAY_MS: 'x' }),
      ).toHaveLength(1)
    })
  })

  describe('RUNNER_RECORD_TRAJECTORY', () => {
    it.each([
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['false', false],
      ['False', false],
      ['0', false],
    ])('reads %s', (value, expected) => {
      expect(loadConfig({ RUNNER_RECORD_TRAJECTORY: value }).recordTrajectory).toBe(expected)
    })

    it.each(['yes', 'off', '2'])('rejects %s', (value) => {
      expect(issuesOf({ RUNNER_RECORD_TRAJECTORY: value })).toEqual([
        {
          key: 'RUNNER_RECORD_TRAJECTORY',
          message: `must be true, false, 1 or 0, got ${JSON.stringify(value)}`,
        },
      ])
    })
  })

  describe('lifecycle messages', () => {
    it('returns only the messages that are set', () => {
      const { messages } = loadConfig({
        RUNNER_MESSAGE_QUEUED: 'In line',
        RUNNER_MESSAGE_STARTED: 'Working',
        RUNNER_MESSAGE_COMPLETE: 'Done',
        RUNNER_MESSAGE_CANCELED: 'Stopped',
      })
      expect(messages).toEqual({
        queued: 'In line',
        started: 'Working',
        complete: 'Done',
        canceled: 'Stopped',
      })
    })

    it('fills {timeoutMs} in the timed-out message, every occurrence', () => {
      const { messages } = loadConfig({
        RUNNER_MESSAGE_TIMED_OUT: 'Gave up after {timeoutMs} ms ({timeoutMs})',
      })
      expect(typeof messages.timedOut).toBe('function')
      expect((messages.timedOut as (timeoutMs: number) => string)(1500)).toBe('Gave up after 1500 ms (1500)')
    })

    it('fills {error} with the error message, literally', () => {
      const { messages } = loadConfig({ RUNNER_MESSAGE_ERROR: 'Oops: {error}' })
      expect(messages.error?.(new Error('disk full'))).toBe('Oops: disk full')
      expect(messages.error?.('cost $& more')).toBe('Oops: cost $& more')
    })

    it('keeps a message without placeholders as is', () => {
      const { messages } = loadConfig({ RUNNER_MESSAGE_ERROR: 'Something went wrong' })
      expect(messages.error?.(new Error('hidden'))).toBe('Something went wrong')
    })

    it('plugs into createActivityTracker', async () => {
      const { messages } = loadConfig({
        RUNNER_MESSAGE_QUEUED: 'In line',
        RUNNER_MESSAGE_ERROR: 'Failed ({error})',
      })
      const tracker = createActivityTracker({ messages })
      const agentId = await tracker.create('research')
      expect((await tracker.detail(agentId)).message).toBe('In line')
      await tracker.update(agentId, 'Searching')
      const failed = await tracker.error(agentId, new Error('rate limited'))
      expect(failed.message).toBe('Failed (rate limited)')
      expect(tracker.messages.complete).toBe('Complete')
    })

    it('rejects unknown placeholders, so that typos show', () => {
      expect(
        issuesOf({
          RUNNER_MESSAGE_ERROR: 'Failed: {err}',
          RUNNER_MESSAGE_TIMED_OUT: 'After {timeout} ms',
          RUNNER_MESSAGE_STARTED: 'Started {agentId}',
        }),
      ).toEqual([
        {
          key: 'RUNNER_MESSAGE_STARTED',
          message: 'unknown placeholder {agentId}: this message takes no placeholders',
        },
        {
          key: 'RUNNER_MESSAGE_TIMED_OUT',
          message: 'unknown placeholder {timeout}: the only placeholder is {timeoutMs}',
        },
        {
          key: 'RUNNER_MESSAGE_ERROR',
          message: 'unknown placeholder {err}: the only placeholder is {error}',
        },
      ])
    })

    it('rejects a blank message', () => {
      expect(issuesOf({ RUNNER_MESSAGE_COMPLETE: '   ' })).toEqual([
        { key: 'RUNNER_MESSAGE_COMPLETE', message: 'must not be blank' },
      ])
    })
  })

  describe('unknown keys', () => {
    it.each([
      ['RUNNER_CONCURENCY', 'RUNNER_CONCURRENCY'],
      ['RUNNER_MAX_TRUNS', 'RUNNER_MAX_TURNS'],
      ['RUNNER_TIMEOUT', 'RUNNER_TIMEOUT_MS'],
      ['RUNNER_STORE', 'RUNNER_STORE_URL'],
      ['RUNNER_RETRY_MAX_DELAY', 'RUNNER_RETRY_MAX_DELAY_MS'],
      ['RUNNER_MESSAGE_CANCELLED', 'RUNNER_MESSAGE_CANCELED'],
      ['runner_concurrency', 'RUNNER_CONCURRENCY'],
    ])('suggests the key close to %s', (key, hint) => {
      expect(issuesOf({ [key]: '1' })).toEqual([{ key, message: `unknown key; did you mean ${hint}?` }])
    })

    it('lists the known keys when none is close', () => {
      const [issue] = issuesOf({ RUNNER_FLAVOUR: 'vanilla' })
      expect(issue?.key).toBe('RUNNER_FLAVOUR')
      expect(issue?.message).toMatch(/^unknown key; expected one of RUNNER_STORE_URL, RUNNER_REDIS_URL, /)
      expect(issue?.message).toContain('RUNNER_MESSAGE_ERROR')
    })

    it('ignores an unknown key that is empty', () => {
      expect(loadConfig({ RUNNER_CONCURENCY: '' })).toEqual(loadConfig({}))
    })
  })

  it('reports every bad key at once', () => {
    let caught: unknown
    try {
      loadConfig({
        RUNNER_CONCURRENCY: 'abc',
        RUNNER_MAX_TURNS: '0',
        RUNNER_STORE_URL: 'mongodb://db',
        RUNNER_RECORD_TRAJECTORY: 'maybe',
        RUNNER_TIMOUT_MS: '100',
        RUNNER_RETRY_MAX_DELAY_MS: '10',
        HOME: '/root',
      })
    } catch (error) {
      caught = error
    }
    expect(ConfigError.isInstance(caught)).toBe(true)
    const error = caught as ConfigError
    expect(error.issues.map((issue) => issue.key).sort()).toEqual([
      'RUNNER_CONCURRENCY',
      'RUNNER_MAX_TURNS',
      'RUNNER_RECORD_TRAJECTORY',
      'RUNNER_RETRY_MAX_DELAY_MS',
      'RUNNER_STORE_URL',
      'RUNNER_TIMOUT_MS',
    ])
    expect(error.issues).toContainEqual({
      key: 'RUNNER_TIMOUT_MS',
      message: 'unknown key; did you mean RUNNER_TIMEOUT_MS?',
    })
    for (const issue of error.issues) expect(error.message).toContain(`${issue.key}: ${issue.message}`)
  })
})

describe('suggestKey', () => {
  it('measures insertions, deletions, substitutions and swaps', () => {
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('abc', 'abc')).toBe(0)
    expect(editDistance('abc', 'abd')).toBe(1)
    expect(editDistance('abc', 'acb')).toBe(1)
    expect(editDistance('kitten', 'sitting')).toBe(3)
  })

  it('suggests nothing for a distant key', () => {
    expect(suggestKey('RUNNER_X', ['RUNNER_CONCURRENCY', 'RUNNER_MAX_TURNS'])).toBeUndefined()
  })

  it('does not guess between several keys sharing a prefix', () => {
    expect(suggestKey('RUNNER_MESSAGE', ['RUNNER_MESSAGE_QUEUED', 'RUNNER_MESSAGE_STARTED'])).toBeUndefined()
  })
})
