import type { Instructions } from 'ai'

/** The agent's instructions with `prompt` appended (a paragraph of a string, or one more system message). */
export function withPrompt(instructions: Instructions | undefined, prompt: string): Instructions {
  if (instructions === undefined || (typeof instructions === 'string' && instructions.trim() === ''))
    return prompt
  if (typeof instructions === 'string') return `${instructions}\n\n${prompt}`
  const messages = Array.isArray(instructions) ? instructions : [instructions]
  return [...messages, { role: 'system', content: prompt }]
}
