import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as adapter from './adapter.js'
import * as engine from './engine.js'
import * as core from './index.js'
import * as store from './store.js'
import * as test from './test/index.js'

/**
 * The names an entry point's source exports by name, types included (`export { a, type B } from`):
 * every entry lists its exports by name, never `export *`, so that this list is the whole surface.
 */
function declaredNames(file: string): string[] {
  const source = readFileSync(new URL(file, import.meta.url), 'utf8')
  expect(source, `${file} exports by name only`).not.toMatch(/export \*/)
  const names: string[] = []
  for (const [, list] of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const part of (list ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(' as ')
        .at(-1)
        ?.trim()
      if (name) names.push(name)
    }
  }
  return names.sort()
}

/** The runtime values of a module (what `import *` sees; types are erased). */
function values(module: object): string[] {
  return Object.keys(module).sort()
}

const surfaces = {
  '@runner/core': [
    'Activity',
    'ActivityEvent',
    'ActivityLogEntry',
    'ActivityLogKind',
    'ActivityNotFoundError',
    'ActivityStatus',
    'ActivityStore',
    'ActivitySummary',
    'ActivityTracker',
    'ActivityTrackerOptions',
    'ActivityTransitionError',
    'AnyToolDefinition',
    'BaseAgentRunner',
    'CapabilityUnsupportedError',
    'ConfigError',
    'EnqueueOptions',
    'ExecuteResult',
    'FallbackEntry',
    'HookError',
    'InvalidOptionsError',
    'InvalidToolInputError',
    'LifecycleMessages',
    'ListActivitiesOptions',
    'ListActivitiesResult',
    'MaxTurnsExceededError',
    'MemoryActivityStore',
    'MetadataFilter',
    'Pool',
    'PoolEngine',
    'PoolOptions',
    'ReportStatusInput',
    'ReportStatusMode',
    'RetryOptions',
    'RunCanceledError',
    'RunContext',
    'RunEvent',
    'RunHooks',
    'RunOptions',
    'RunResult',
    'RunStream',
    'RunTimeoutError',
    'RunnerCapabilities',
    'RunnerConfig',
    'RunnerError',
    'RunnerOptions',
    'RunnerPrompts',
    'StoreConfig',
    'TaskContext',
    'TaskHandle',
    'TaskOptions',
    'ToolCallInfo',
    'ToolContext',
    'ToolDefinition',
    'Trajectory',
    'TrajectoryStep',
    'Usage',
    'VERSION',
    'createActivityTracker',
    'createPool',
    'currentRun',
    'defaultLifecycleMessages',
    'defaultPrompts',
    'defineTool',
    'loadConfig',
    'localEngine',
    'serializeEvent',
    'withFallback',
  ],
  '@runner/core/adapter': [
    'AdapterEvent',
    'BegunToolCall',
    'HookFirer',
    'HookRunInfo',
    'InvalidOptionIssue',
    'LoopTurn',
    'ModelAnswer',
    'NativeEvent',
    'NextStep',
    'REPORT_STATUS_DESCRIPTION',
    'REPORT_STATUS_RESULT',
    'REPORT_STATUS_TOOL_NAME',
    'ReasoningDeltaEvent',
    'RetryEvent',
    'RunEndEvent',
    'RunErrorEvent',
    'RunStartEvent',
    'StatusUpdateEvent',
    'StepInput',
    'TextDeltaEvent',
    'ToolCallDecision',
    'ToolCallEvent',
    'ToolCallOptions',
    'ToolCallOutcome',
    'ToolCallTarget',
    'ToolInputCheck',
    'ToolLoopDriver',
    'ToolResultEvent',
    'TurnEndEvent',
    'TurnInfo',
    'TurnStartEvent',
    'abortReason',
    'abortableSleep',
    'backoffDelay',
    'beginToolCall',
    'callTool',
    'deniedToolText',
    'errorMessage',
    'failedToolText',
    'hasMarker',
    'invalidToolInputText',
    'isTransientError',
    'parseOrThrow',
    'raceAbort',
    'reportStatusInputSchema',
    'reportStatusTool',
    'retryAfterMs',
    'runToolCall',
    'runToolCalls',
    'runToolLoop',
    'toolInputJsonSchema',
    'toolOutputText',
    'toolsWithReportStatus',
    'unknownToolText',
    'zodIssues',
  ],
  '@runner/core/store': [
    'ACTIVE_STATUSES',
    'ACTIVITY_LOG_KINDS',
    'ACTIVITY_STATUSES',
    'Activity',
    'ActivityEvent',
    'ActivityLogEntry',
    'ActivityLogKind',
    'ActivityStatus',
    'ActivityStore',
    'ActivitySummary',
    'AppendActivityInput',
    'Checkpoint',
    'CheckpointInput',
    'ClaimedJob',
    'CreateActivityInput',
    'CreateOptions',
    'DEFAULT_MAX_RECORD_BYTES',
    'Decision',
    'DecisionInput',
    'DocumentTable',
    'DurableJobQueue',
    'EventHub',
    'JournalEntry',
    'JournalEntryInput',
    'JsonValue',
    'ListActivitiesOptions',
    'ListActivitiesResult',
    'ListDocumentsOptions',
    'ListSortKey',
    'LogEntryOptions',
    'MAX_LEASE_MS',
    'MAX_LOG_ATTEMPT',
    'MetadataFilter',
    'MetadataValue',
    'PendingRequest',
    'PendingRequestInput',
    'QueuedJob',
    'RunRecord',
    'ScopeOptions',
    'StoredDocument',
    'TERMINAL_STATUSES',
    'Trajectory',
    'TrajectoryStep',
    'UpdateOptions',
    'Usage',
    'WatchFilter',
    'applyDecision',
    'applyEntry',
    'assertTransition',
    'canTransition',
    'cloneJson',
    'compareSortKeys',
    'decodeCheckpoint',
    'decodeCursor',
    'decodeJournalEntry',
    'encodeCheckpoint',
    'encodeCursor',
    'encodeDocuments',
    'encodeJournalEntry',
    'isActiveStatus',
    'isTerminalStatus',
    'jsonOf',
    'logEntryOf',
    'matchesMetadata',
    'nowIso',
    'percentageSchema',
    'sortKeyOf',
    'statusList',
    'validateAppendInput',
    'validateCheckpointInput',
    'validateClaimArguments',
    'validateCreateInput',
    'validateDecision',
    'validateDocumentKey',
    'validateDocumentPrefix',
    'validateListDocumentsOptions',
    'validateListOptions',
    'validateMetadataFilter',
    'validatePendingInput',
    'validateQueuedJob',
    'validateRenewArguments',
    'validateWatchFilter',
  ],
  '@runner/core/engine': [
    'CancelJobOptions',
    'CanceledJobOutcome',
    'CloseOptions',
    'CompleteJobOutcome',
    'EngineCloseOptions',
    'EnqueueResult',
    'ErrorJobOutcome',
    'JobOutcome',
    'JobOutcomeBase',
    'JobRunner',
    'JsonValue',
    'LocalEngineOptions',
    'PoolEngine',
    'PoolEngineContext',
    'PoolJob',
    'ResultOptions',
    'RunJobOptions',
    'SerializedJobError',
    'SerializedJobOutcome',
    'TaskHandler',
    'deserializeJobOutcome',
    'serializeJobOutcome',
  ],
  '@runner/core/test': [
    'DEFAULT_EVENT_TIMEOUT_MS',
    'EventReader',
    'ScriptSource',
    'ScriptStep',
    'ScriptedAgent',
    'ScriptedCall',
    'ScriptedModel',
    'ScriptedRunner',
    'WAIT_TIMEOUT_MS',
    'logLines',
    'rejectionOf',
    'runIn',
    'searchTool',
    'waitForActivity',
    'waitForStatus',
  ],
}

describe('the public surface of @runner/core, locked', () => {
  const modules: Record<keyof typeof surfaces, [string, object]> = {
    '@runner/core': ['./index.ts', core],
    '@runner/core/adapter': ['./adapter.ts', adapter],
    '@runner/core/store': ['./store.ts', store],
    '@runner/core/engine': ['./engine.ts', engine],
    '@runner/core/test': ['./test/index.ts', test],
  }

  for (const [entry, [file, module]] of Object.entries(modules) as Array<
    [keyof typeof surfaces, [string, object]]
  >) {
    it(`${entry} exports exactly the names it is meant to (types included)`, () => {
      const declared = declaredNames(file)
      expect(
        declared,
        `${entry}: a change to its exports is a change to the contract; update this list deliberately`,
      ).toEqual(surfaces[entry])
      // Every runtime value is among the declared names: nothing leaks through a re-export.
      for (const name of values(module))
        expect(declared, `${entry} exports ${name} at runtime`).toContain(name)
    })
  }

  it('what applications use stays about sixty names', () => {
    expect(surfaces['@runner/core'].length).toBeLessThanOrEqual(70)
  })
})
