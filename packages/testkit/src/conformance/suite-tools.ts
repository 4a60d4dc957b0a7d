import { defineTool } from '@runner/core'
import { z } from 'zod'

/** A `search` tool that records every query it runs. */
export function searchTool() {
  const queries: string[] = []
  const tool = defineTool({
    name: 'search',
    description: 'Searches the web for a query and returns the results.',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => {
      queries.push(query)
      return `results for ${query}`
    },
  })
  return { tool, queries }
}

/** A tool that waits until the run's signal aborts; it records that it started and what it saw. */
export function waitForAbortTool() {
  const state = { started: false, sawAbort: false }
  const tool = defineTool({
    name: 'wait_for_abort',
    description: 'Waits for a long time.',
    inputSchema: z.object({}),
    execute: (_input, { signal }) => {
      state.started = true
      return new Promise<string>((_, reject) => {
        signal.addEventListener(
          'abort',
          () => {
            state.sawAbort = true
            reject(signal.reason)
          },
          { once: true },
        )
      })
    },
  })
  return { tool, state }
}

/**
 * A `send_email` tool that needs a person's approval before each call (`needsApproval: true`); it
 * records every email it sends, with the idempotency key its context carried.
 */
export function sendEmailTool() {
  const sent: Array<{ to: string; idempotencyKey: string }> = []
  const tool = defineTool({
    name: 'send_email',
    description: 'Sends an email to an address. A person approves each email first.',
    inputSchema: z.object({ to: z.string() }),
    needsApproval: true,
    execute: async ({ to }, { idempotencyKey }) => {
      sent.push({ to, idempotencyKey })
      return `sent to ${to}`
    },
  })
  return { tool, sent }
}

/**
 * A `record_step` tool with a side effect to count: it records each step it starts and each it
 * completes. While `state.hangOn` names a step, a call for that step never completes and ignores
 * the signal: a process that stopped in the middle of the tool.
 */
export function recordStepTool() {
  const state: { started: string[]; completed: string[]; hangOn: string | undefined } = {
    started: [],
    completed: [],
    hangOn: undefined,
  }
  const tool = defineTool({
    name: 'record_step',
    description: 'Records one step of the work.',
    inputSchema: z.object({ step: z.string() }),
    execute: async ({ step }) => {
      state.started.push(step)
      if (step === state.hangOn) return new Promise<string>(() => {})
      state.completed.push(step)
      return `step ${step} recorded`
    },
  })
  return { tool, state }
}
