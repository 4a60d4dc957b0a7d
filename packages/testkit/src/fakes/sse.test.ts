import { describe, expect, it } from 'vitest'
import { deltasBeforeCut, SseScriptBuilder, splitArguments, splitText, sseFrame } from './sse.js'

describe('SSE helpers', () => {
  it('formats frames with an optional event line', () => {
    expect(sseFrame({ a: 1 })).toBe('data: {"a":1}\n\n')
    expect(sseFrame({ type: 'ping' }, 'ping')).toBe('event: ping\ndata: {"type":"ping"}\n\n')
    expect(sseFrame('[DONE]')).toBe('data: [DONE]\n\n')
  })

  it('splits text into word deltas that join back, at least two when possible', () => {
    expect(splitText('Hello there, otter.')).toEqual(['Hello', ' there,', ' otter.'])
    expect(splitText(' padded  text ')).toEqual([' padded', '  text', ' '])
    expect(splitText('Otters')).toEqual(['Ott', 'ers'])
    expect(splitText('a')).toEqual(['a'])
    expect(splitText('')).toEqual([])
  })

  it('splits arguments into two or three non-empty pieces', () => {
    expect(splitArguments('{}')).toEqual(['{', '}'])
    const pieces = splitArguments('{"query":"otters"}')
    expect(pieces).toHaveLength(3)
    expect(pieces.join('')).toBe('{"query":"otters"}')
  })

  it('cuts about half the deltas, never all of several', () => {
    expect([1, 2, 3, 4, 5].map(deltasBeforeCut)).toEqual([1, 1, 2, 2, 3])
  })

  it('keeps the first cut point marked', () => {
    const script = new SseScriptBuilder().push({ n: 1 })
    script.markCut()
    script.push({ n: 2 }).markCut()
    expect(script.build().cutAfter).toBe(1)
    expect(new SseScriptBuilder().push({}).push({}).build().cutAfter).toBe(1)
  })
})
