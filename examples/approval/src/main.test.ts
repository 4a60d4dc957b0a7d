import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const agentProgram = fileURLToPath(new URL('./agent.ts', import.meta.url))
const decideProgram = fileURLToPath(new URL('./decide.ts', import.meta.url))
const scratch = mkdtempSync(join(tmpdir(), 'runner-approval-test-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Runs one of the programs on the scripted fake (no key, no network) and the given database. */
function run(program: string, database: string, args: string[] = []) {
  const env: NodeJS.ProcessEnv = { ...process.env, APPROVAL_DB: database }
  delete env.OPENAI_API_KEY
  delete env.OPENAI_BASE_URL
  delete env.OPENAI_MODEL
  const child = spawnSync(process.execPath, [program, ...args], { encoding: 'utf8', env, timeout: 30_000 })
  expect(child.stderr).not.toMatch(/Error/)
  return child
}

/** Process 1: the run ends waiting; the pending call and the commands are printed. */
function startAgent(database: string): string {
  const child = run(agentProgram, database)
  expect(child.status).toBe(0)
  const out = child.stdout
  expect(out).toContain('-> search {"query":"what do sea otters eat"}')
  const agentId = /Run (\S+) is waiting for approval \(3 turns so far\):/.exec(out)?.[1]
  expect(agentId).toMatch(/^[0-9a-f-]{36}$/)
  expect(out).toMatch(
    / {2}send_email \{"to":"ada@example\.org","subject":"Otter diet","body":"Sea otters eat .+"\} {2}\(tool call call_2_1\)/,
  )
  expect(out).toContain(`node src/decide.ts ${agentId} approve`)
  expect(out).toContain(`node src/decide.ts ${agentId} deny "not today"`)
  // The tool waits: it did not run in this process.
  expect(out).not.toContain('idempotency key')
  return agentId as string
}

/** The log lines of the decide program's output: status, kind, message. */
function logOf(out: string): string[] {
  return out
    .slice(out.indexOf('Activity log of'))
    .split('\n')
    .slice(1)
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim().replace(/\s+/g, ' '))
}

describe('examples/approval (smoke test)', () => {
  it('approve: a second process approves send_email and resumes the run from the SQLite file', () => {
    const database = join(scratch, 'approve.db')
    const agentId = startAgent(database)

    const child = run(decideProgram, database, [agentId, 'approve', '--by', 'grace'])
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toContain(`Run ${agentId} waits for:`)
    expect(out).toContain('Approved by grace. Resuming on scripted-assistant, scripted:')
    // The tool ran in this process, once, with the key that is stable across processes.
    expect(out.match(/send_email: sending with idempotency key/g)).toHaveLength(1)
    expect(out).toContain(`send_email: sending with idempotency key ${agentId}:call_2_1`)
    expect(out).toContain('   got: Sent to ada@example.org.')
    expect(out).toContain(
      'Done: I emailed Ada a two-line summary of what sea otters eat (subject "Otter diet").',
    )
    expect(out).toContain(
      `The model's request after the decision carried send_email's result: "Sent to ada@example.org."`,
    )
    expect(logOf(out)).toEqual([
      'queued lifecycle Waiting to start (0%)',
      'running lifecycle Started',
      'running progress Looking up what sea otters eat (20%)',
      'running progress Emailing the summary to Ada (80%)',
      'waiting approval Waiting for approval of send_email',
      'running resume Resumed at turn 3 with decisions: send_email approved by grace',
      'complete lifecycle Complete (100%)',
    ])
    expect(out).toContain('Usage: 2137 tokens in 4 turns (both processes).')

    // Decided and finished: a second decision is refused, and nothing runs again.
    const again = run(decideProgram, database, [agentId, 'approve'])
    expect(again.status).toBe(1)
    expect(again.stderr).toContain(`Run ${agentId} is complete: no call of it waits for a decision.`)
  }, 70_000)

  it('deny: the model reads the denial and the email is never sent', () => {
    const database = join(scratch, 'deny.db')
    const agentId = startAgent(database)

    const child = run(decideProgram, database, [agentId, 'deny', 'not', 'today'])
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toContain('Denied by cli. Resuming on scripted-assistant, scripted:')
    expect(out).not.toContain('idempotency key')
    expect(out).toContain('   error: Tool call denied: not today')
    expect(out).toContain(
      `The model's request after the decision carried send_email's result: "Tool call denied: not today"`,
    )
    expect(out).toContain('I did not email Ada: the email was denied.')
    expect(logOf(out)).toContain(
      'running resume Resumed at turn 3 with decisions: send_email denied by cli (not today)',
    )
    expect(logOf(out).at(-1)).toBe('complete lifecycle Complete (100%)')
  }, 70_000)

  it('without a decision outside a terminal, or with a wrong one, it says what to give', () => {
    const database = join(scratch, 'usage.db')
    const agentId = startAgent(database)
    const wrong = run(decideProgram, database, [agentId, 'maybe'])
    expect(wrong.status).toBe(2)
    expect(wrong.stderr).toContain('The decision must be "approve" or "deny", not "maybe".')
    const missing = run(decideProgram, database, [agentId])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toContain('Give the decision: approve or deny.')
    // Still waiting, and listed as such.
    const listed = run(decideProgram, database)
    expect(listed.status).toBe(0)
    expect(listed.stdout).toContain(`  ${agentId}  assistant  Waiting for approval of send_email`)
  }, 70_000)
})
