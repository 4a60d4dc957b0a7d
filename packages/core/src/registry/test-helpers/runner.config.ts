import { defineRunnerConfig } from '../runner-config.js'

/** A code config: runners, and routes on the run's metadata and input. */
export default defineRunnerConfig<string>({
  runners: {
    quick: { type: 'greeter', model: 'small' },
    careful: { type: 'greeter', model: 'large', greeting: 'Good day' },
  },
  routes: [
    (_input, metadata) => (metadata.tenant === 'acme' ? 'careful' : undefined),
    (input) => (input.length > 40 ? { runner: 'careful', model: 'huge' } : undefined),
  ],
  default: 'quick',
})
