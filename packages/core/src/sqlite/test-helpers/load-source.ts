/**
 * Lets a child process run this package's TypeScript sources directly (Node strips the types).
 * The sources import each other as `./x.js`, as the build needs, so a resolve hook maps a missing
 * relative `.js` to its `.ts`. Import this module before the sources.
 */
import { registerHooks } from 'node:module'

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context)
    } catch (error) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context)
      }
      throw error
    }
  },
})
