export { rejectionOf, runIn } from '@runner/testkit'

import type { OpenAIApi } from '../agent.js'

/** Every way a run reaches the model: both APIs, streamed (`runStreamed`) or not (`run`). */
export const modes: ReadonlyArray<{ api: OpenAIApi; streamed: boolean; label: string }> = [
  { api: 'chat', streamed: false, label: 'chat, run' },
  { api: 'chat', streamed: true, label: 'chat, runStreamed' },
  { api: 'responses', streamed: false, label: 'responses, run' },
  { api: 'responses', streamed: true, label: 'responses, runStreamed' },
]
