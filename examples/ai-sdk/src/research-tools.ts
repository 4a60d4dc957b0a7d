import { tool } from 'ai'
import { z } from 'zod'

/** A tiny offline "web": the pages the agent can find and read, so the example runs anywhere. */
const pages = [
  {
    url: 'https://example.org/otters/sleep',
    title: 'How sea otters sleep',
    text:
      'Sea otters sleep floating on their backs. Groups called rafts hold paws or wrap themselves in ' +
      'kelp so that the current does not carry them apart while they rest.',
  },
  {
    url: 'https://example.org/otters/food',
    title: 'What sea otters eat',
    text: 'Sea otters eat sea urchins, crabs and clams, and use stones as tools to crack shells open.',
  },
  {
    url: 'https://example.org/kelp',
    title: 'Kelp forests',
    text: 'Kelp forests thrive where sea otters keep the sea urchins that graze on kelp in check.',
  },
]

/** Finds pages whose title or text mention a word of the query (an AI SDK `tool`). */
export const search = tool({
  description: 'Searches the web. Returns up to 3 results as { title, url }; read a url to get its text.',
  inputSchema: z.object({ query: z.string().min(1).describe('What to look for, in a few words.') }),
  execute: async ({ query }) => {
    const words = query
      .toLowerCase()
      .split(/\W+/)
      .filter((word) => word.length > 2)
    const score = (page: (typeof pages)[number]) =>
      words.filter((word) => `${page.title} ${page.text}`.toLowerCase().includes(word.replace(/s$/, '')))
        .length
    return pages
      .filter((page) => score(page) > 0)
      .sort((a, b) => score(b) - score(a))
      .slice(0, 3)
      .map(({ title, url }) => ({ title, url }))
  },
})

/** Returns the text of a page found by `search`; a real one would pass `abortSignal` to fetch. */
export const read = tool({
  description: 'Reads a web page and returns its text.',
  inputSchema: z.object({ url: z.url().describe('A url returned by search.') }),
  execute: async ({ url }, { abortSignal }) => {
    abortSignal?.throwIfAborted() // a real fetch would take it: fetch(url, { signal: abortSignal })
    const page = pages.find((candidate) => candidate.url === url)
    if (!page) throw new Error(`No page at ${url}: use a url returned by search.`)
    return page.text
  },
})
