/**
 * `@runner/core/test`: test doubles and helpers for code built on `@runner/core` (the test kit
 * reuses them): a scripted model and a loop-owning runner over it, waiters for activity states
 * pushed by `watch`, and small assertions.
 */
export { rejectionOf } from './rejection-of.js'
export {
  type ScriptedAgent,
  type ScriptedCall,
  ScriptedModel,
  ScriptedRunner,
  type ScriptStep,
} from './scripted-runner.js'
export { logLines, WAIT_TIMEOUT_MS, waitForActivity, waitForStatus } from './wait-for-activity.js'
