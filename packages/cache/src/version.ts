import { createRequire } from 'node:module'

/** The version of `@runner/cache`, read from its package.json so that a release never leaves it behind. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version
