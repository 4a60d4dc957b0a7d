export { rejectionOf, runIn } from '@runner/core/test'
export {
  type Cassette,
  type CassetteInteraction,
  type CassetteRequest,
  type CassetteResponse,
  CassetteSecretError,
  type FetchFunction,
  type RecordingFetch,
  type RecordingFetchOptions,
  type ReplayedCall,
  type ReplayingFetch,
  type ReplayingFetchOptions,
  recordingFetch,
  replayingFetch,
  type SecretFinding,
  UnrecordedRequestError,
} from './cassettes/index.js'
export {
  type CaseContext,
  type CaseOutcome,
  type ConformanceCase,
  casesFor,
  conformanceCases,
  type OpenedHarness,
  resolveFeatures,
  runCase,
} from './conformance/cases/index.js'
export { runnerConformanceSuite } from './conformance/runner-suite.js'
export type {
  ConformanceFeatures,
  HarnessOptions,
  RunnerConformanceOptions,
  RunnerHarness,
  ScriptedAgentOf,
} from './conformance/types.js'
export * from './fakes/index.js'
export {
  describeTurn,
  type PlayedCall,
  ScenarioExhaustedError,
  ScenarioPlayer,
  waitForTurn,
} from './scenario/player.js'
export {
  defaultTurnUsage,
  type Scenario,
  ScenarioBuilder,
  type ScenarioFault,
  type ScenarioToolCall,
  type ScenarioTurn,
  type ScenarioUsage,
  scenario,
} from './scenario/scenario.js'
export { scriptedHarness } from './scripted/scripted-harness.js'
export {
  type ScriptedAgent,
  ScriptedModelError,
  type ScriptedRequest,
  ScriptedRunner,
  scenarioSource,
  scriptedAgent,
} from './scripted/scripted-runner.js'
export { type ActivityStoreConformanceSuiteOptions, activityStoreConformanceSuite } from './stores/index.js'
export { type ActivityTreeNode, activityTree, formatActivityTree } from './tree/activity-tree.js'
