import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineTool, toolInputJsonSchema } from './define-tool.js'
import { reportStatusTool, toolsWithReportStatus } from './report-status.js'
import { toolOutputText } from './tool-call.js'

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

  it("gives a tool's own jsonSchema as is (less $schema) and refuses one that is not an object", () => {
    const given = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { city: { type: 'string', pattern: '^[A-Z]' } },
      required: ['city'],
    }
    const tool = defineTool({
      name: 'weather',
      description: 'w',
      inputSchema: z.unknown(),
      jsonSchema: given,
      execute: () => 'x',
    })
    expect(toolInputJsonSchema(tool)).toEqual({
      type: 'object',
      properties: { city: { type: 'string', pattern: '^[A-Z]' } },
      required: ['city'],
    })
    const base = { name: 'w', description: 'd', inputSchema: z.unknown(), execute: () => 'x' }
    expect(() => defineTool({ ...base, jsonSchema: [] as never })).toThrow(
      /jsonSchema: must be a JSON Schema object/,
    )
  })

  it('turns outputs into text for the model', () => {
    expect(toolOutputText('plain')).toBe('plain')
    expect(toolOutputText({ a: 1 })).toBe('{"a":1}')
    expect(toolOutputText(undefined)).toBe('')
  })
})

describe('toolsWithReportStatus', () => {
  const search = defineTool({
    name: 'search',
    description: 's',
    inputSchema: z.object({}),
    execute: () => 'x',
  })
  const ownReport = defineTool({
    name: 'report_status',
    description: 'mine',
    inputSchema: z.object({}),
    execute: () => 'x',
  })

  it('puts report_status first unless the mode is false or the agent brings its own', () => {
    expect(toolsWithReportStatus([search]).map((tool) => tool.name)).toEqual(['report_status', 'search'])
    expect(toolsWithReportStatus([search], 'tool-only')[0]).toBe(reportStatusTool)
    expect(toolsWithReportStatus([search], false)).toEqual([search])
    expect(toolsWithReportStatus([ownReport, search])).toEqual([ownReport, search])
  })

  it('refuses two tools of one name, naming the second', () => {
    expect(() => toolsWithReportStatus([search, search])).toThrow(
      /agent\.tools\.1: duplicate tool name "search"/,
    )
  })
})
