import type { ModelMessage } from 'ai'
import { describe, expect, it } from 'vitest'
import { wrapUpMessages } from './wrap-up.js'

describe('wrapUpMessages', () => {
  const history: ModelMessage[] = [
    { role: 'user', content: 'Tell me about otters' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool-call', toolCallId: 'c1', toolName: 'search', input: { query: 'otters' } },
        { type: 'tool-call', toolCallId: 'c2', toolName: 'fetch', input: { url: 'x' } },
      ],
    },
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c1',
          toolName: 'search',
          output: { type: 'text', value: '3 results' },
        },
        {
          type: 'tool-result',
          toolCallId: 'c2',
          toolName: 'fetch',
          output: { type: 'error-text', value: '404' },
        },
      ],
    },
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c3',
          toolName: 'stats',
          output: { type: 'json', value: { n: 2 } },
        },
      ],
    },
  ]

  it('turns tool calls and results into text and asks for the answer once', () => {
    const messages = wrapUpMessages(history, 'Wrap up now.')
    expect(messages).toEqual([
      { role: 'user', content: 'Tell me about otters' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'text', text: '[Called tool search with {"query":"otters"}]' },
          { type: 'text', text: '[Called tool fetch with {"url":"x"}]' },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'text', text: '[Result of search: 3 results]\n[Error from fetch: 404]' }],
      },
      { role: 'user', content: [{ type: 'text', text: '[Result of stats: {"n":2}]' }] },
      { role: 'user', content: 'Wrap up now.' },
    ])
    // A second wrap-up turn (the messages carry forward) does not ask twice.
    expect(
      wrapUpMessages(messages, 'Wrap up now.').filter((message) => message.content === 'Wrap up now.'),
    ).toHaveLength(1)
  })
})
