import { HumanMessage } from '@langchain/core/messages'
import { ChatPromptTemplate, MessagesPlaceholder } from '@langchain/core/prompts'
import { RunnableLambda } from '@langchain/core/runnables'
import { InvalidOptionsError } from '@runner/core'
import { createAgent, fakeModel } from 'langchain'
import { describe, expect, it } from 'vitest'
import { toRunnableInput } from './input.js'

describe('toRunnableInput', () => {
  const model = fakeModel()

  it('a string: { messages: [HumanMessage] } for agents, graphs and other chains', () => {
    for (const agent of [createAgent({ model, tools: [] }), RunnableLambda.from((x: unknown) => x)]) {
      const input = toRunnableInput(agent, 'Hello') as { messages: unknown[] }
      expect(input.messages).toHaveLength(1)
      expect(input.messages[0]).toBeInstanceOf(HumanMessage)
      expect((input.messages[0] as HumanMessage).content).toBe('Hello')
    }
  })

  it('a chat model, bare or with tools bound, gets the string itself', () => {
    expect(toRunnableInput(model, 'Hello')).toBe('Hello')
    expect(toRunnableInput(model.withConfig({ tags: ['x'] }), 'Hello')).toBe('Hello')
  })

  it('a chain starting with a prompt: its one variable, or messages for a placeholder', () => {
    expect(toRunnableInput(ChatPromptTemplate.fromTemplate('Say {word}').pipe(model), 'hi')).toEqual({
      word: 'hi',
    })
    const withHistory = ChatPromptTemplate.fromMessages([new MessagesPlaceholder('messages')]).pipe(model)
    expect((toRunnableInput(withHistory, 'hi') as { messages: HumanMessage[] }).messages[0]?.content).toBe(
      'hi',
    )
    expect(toRunnableInput(ChatPromptTemplate.fromTemplate('Say {word}'), 'hi')).toEqual({ word: 'hi' })
  })

  it('refuses a string a prompt has no single place for, and empty input', () => {
    const refused = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        return InvalidOptionsError.isInstance(error)
          ? error.message
          : `not InvalidOptionsError: ${String(error)}`
      }
      return 'not refused'
    }
    expect(
      refused(() => toRunnableInput(ChatPromptTemplate.fromTemplate('{a} {b}').pipe(model), 'x')),
    ).toContain('takes {a}, {b}: pass them as an object')
    expect(
      refused(() => toRunnableInput(ChatPromptTemplate.fromTemplate('Fixed').pipe(model), 'x')),
    ).toContain('takes no variables')
    expect(refused(() => toRunnableInput(model, ''))).toContain('input: must not be an empty string')
    expect(refused(() => toRunnableInput(model, undefined as never))).toContain('input: is required')
  })

  it('anything but a string is passed on unchanged', () => {
    const input = { messages: [new HumanMessage('x')], topic: 'otters' }
    expect(toRunnableInput(createAgent({ model, tools: [] }), input)).toBe(input)
  })
})
