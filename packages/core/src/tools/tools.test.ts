import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineTool, toolInputJsonSchema } from './define-tool.js'
import { reportStatusTool } from './report-status.js'
import { toolOutputText } from './run-tool.js'

describe('defineTool', () => {
  it('refuses names the providers would refuse, and non-zod schemas', () => {
    const base = { description: 'd', inputSchema: z.object({}), execute: () => 'x' }
    expect(() => defineTool({ ...base, name: 'has space' })).toThrow(/Invalid tool name "has space"/)
    expect(() => defineTool({ ...base, name: 'x'.repeat(65) })).toThrow(/Invalid tool name/)
    expect(() => defineTool({ ...base, name: 'ok', inputSchema: { type: 'object' } as never })).toThrow(
      /zod schema/,
    )
  })

  it('gives the JSON Schema of the input without the $schema key', () => {
    expect(toolInputJsonSchema(reportStatusTool)).toMatchObject({
      type: 'object',
      properties: {
        message: { type: 'string', minLength: 1, maxLength: 200 },
        percentage: { type: 'integer', minimum: 0, maximum: 100 },
      },
      required: ['message', 'percentage'],
    })
    expect(toolInputJsonSchema(reportStatusTool)).not.toHaveProperty('$schema')
  })

  it('turns outputs into text for the model', () => {
    expect(toolOutputText('plain')).toBe('plain')
    expect(toolOutputText({ a: 1 })).toBe('{"a":1}')
    expect(toolOutputText(undefined)).toBe('')
  })
})
