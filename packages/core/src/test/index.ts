/**
 * `@runner/core/test`: test doubles and helpers for code built on `@runner/core`, which the test
 * kit reuses: the reference scripted runner and its scripted model, a reader of async iterables
 * with time limits, waiters for activity states pushed by `watch`, and small helpers.
 */

export { resetSecrets } from '../util/secrets.js'
export { completed } from './completed.js'
export { DEFAULT_EVENT_TIMEOUT_MS, EventReader } from './event-reader.js'
export { rejectionOf } from './rejection-of.js'
export { runIn } from './run-in.js'
export {
  type ScriptedAgent,
  type ScriptedCall,
  ScriptedModel,
  ScriptedRunner,
  type ScriptSource,
  type ScriptStep,
} from './scripted-runner.js'
export { searchTool } from './search-tool.js'
export { logLines, WAIT_TIMEOUT_MS, waitForActivity, waitForStatus } from './wait-for-activity.js'
