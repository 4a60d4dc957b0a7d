import { AIMessage, AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages'
import { describe, expect, it } from 'vitest'
import { finalTextOf, partsOf, toolCallsOf } from './message-content.js'

describe('partsOf', () => {
  it('string content is text', () => {
    expect(partsOf(new AIMessageChunk({ content: 'Hi' }))).toEqual({ text: 'Hi', reasoning: '' })
  })

  it('text and reasoning blocks (standard), thinking blocks (Anthropic), reasoning_content (compatible servers)', () => {
    expect(
      partsOf(
        new AIMessage({
          content: [
            { type: 'reasoning', reasoning: 'Let me think. ' },
            { type: 'text', text: 'Answer.' },
          ],
        }),
      ),
    ).toEqual({ text: 'Answer.', reasoning: 'Let me think. ' })
    expect(
      partsOf(
        new AIMessage({
          content: [
            { type: 'thinking', thinking: 'Hmm.', signature: 's' },
            { type: 'text', text: 'Yes.' },
          ],
        }),
      ),
    ).toEqual({ text: 'Yes.', reasoning: 'Hmm.' })
    expect(
      partsOf(new AIMessageChunk({ content: '', additional_kwargs: { reasoning_content: 'step 1' } })),
    ).toEqual({
      text: '',
      reasoning: 'step 1',
    })
  })

  it('anything else has no text', () => {
    expect(partsOf(undefined)).toEqual({ text: '', reasoning: '' })
    expect(partsOf('text')).toEqual({ text: '', reasoning: '' })
  })
})

describe('finalTextOf', () => {
  it('a string output, a message, the last AI message of a state, a returnDirect tool result', () => {
    expect(finalTextOf('plain', undefined)).toBe('plain')
    expect(finalTextOf(new AIMessage('from a chain'), undefined)).toBe('from a chain')
    expect(
      finalTextOf(
        {
          messages: [
            new HumanMessage('q'),
            new AIMessage('first'),
            new HumanMessage('more'),
            new AIMessage('last'),
          ],
        },
        undefined,
      ),
    ).toBe('last')
    expect(
      finalTextOf(
        { messages: [new AIMessage('calling'), new ToolMessage({ content: 'direct', tool_call_id: 'c' })] },
        undefined,
      ),
    ).toBe('direct')
  })

  it('an output without text (a parsed object): the last model answer', () => {
    expect(finalTextOf({ answer: 42 }, new AIMessage('{"answer":42}'))).toBe('{"answer":42}')
    expect(finalTextOf({ answer: 42 }, undefined)).toBe('')
  })
})

describe('toolCallsOf', () => {
  it('maps tool_calls to the contract’s shape', () => {
    const message = new AIMessage({
      content: '',
      tool_calls: [{ id: 'c1', name: 'search', args: { q: 'x' } }],
    })
    expect(toolCallsOf(message)).toEqual([{ toolCallId: 'c1', toolName: 'search', input: { q: 'x' } }])
    expect(toolCallsOf(new AIMessage('no calls'))).toEqual([])
  })
})
