import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type CompletedRunResult, defineTool } from '@runner/core'
import { recordingFetch, replayingFetch, scenario, startProtocolFake } from '@runner/testkit'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { OpenAIOutput } from './conversation.js'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { modes, runIn } from './test-helpers/run-modes.js'

const directory = mkdtempSync(join(tmpdir(), 'runner-openai-cassettes-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

const read = defineTool({
  name: 'read',
  description: 'Reads a page.',
  inputSchema: z.object({ url: z.string() }),
  execute: ({ url }) => `The page ${url} says otters hold hands.`,
})

describe('cassettes', () => {
  for (const { api, streamed, label } of modes) {
    it(`${label}: a run recorded from the fake replays the same with the fake closed`, async () => {
      const file = join(directory, `${api}-${streamed ? 'stream' : 'json'}.json`)
      const fake = await startProtocolFake()
      const baseURL = fake.openaiBaseURL
      const { model } = fake.play(
        scenario()
          .toolCall('report_status', { message: 'Reading', percentage: 40 })
          .toolCall('read', { url: 'https://example.org/otters' })
          .text('Otters hold hands while they sleep.'),
        { model: 'cassette-model' },
      )
      const agent = { model, api, instructions: 'Answer from the page.', tools: [read] }
      const summary = async (runner: OpenAIRunner, result: CompletedRunResult<OpenAIOutput>) => ({
        text: result.text,
        turns: result.turns,
        usage: result.usage,
        log: (await runner.activity.detail(result.agentId)).log.map((entry) => entry.message),
        messages: result.output.messages,
      })

      const recording = recordingFetch({ file })
      const recorder = new OpenAIRunner({ client: fakeClient(baseURL, { fetch: recording }) })
      const recorded = await summary(
        recorder,
        (await runIn(streamed, recorder, agent, 'Do otters hold hands?')).result,
      )
      fake.assertDone()
      await fake.close()

      const cassette = JSON.parse(readFileSync(file, 'utf8'))
      expect(cassette.interactions).toHaveLength(3)
      expect(JSON.stringify(cassette)).not.toContain('test-key')

      const replaying = replayingFetch({ file })
      const replayer = new OpenAIRunner({ client: fakeClient(baseURL, { fetch: replaying }) })
      const replayed = await summary(
        replayer,
        (await runIn(streamed, replayer, agent, 'Do otters hold hands?')).result,
      )
      expect(replayed).toEqual(recorded)
      expect(replayed.log).toContain('Reading')
      replaying.assertAllUsed()
    })
  }
})
