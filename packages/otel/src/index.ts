export {
  INSTRUMENTATION_NAME,
  type InstrumentRunnerOptions,
  instrumentRunner,
  type RunnerInstrumentation,
} from './instrument-runner.js'
export { VERSION } from './version.js'
