/**
 * `@runner/core/store`: what the authors of an `ActivityStore` use, so that every store validates,
 * orders and moves activities alike (and passes `activityStoreConformanceSuite` from the test kit).
 */

export {
  MAX_LEASE_MS,
  validateClaimArguments,
  validateQueuedJob,
  validateRenewArguments,
} from './activity/job-queue-helpers.js'
export { ACTIVITY_LOG_KINDS } from './activity/log-kinds.js'
export {
  applyDecision,
  DEFAULT_MAX_RECORD_BYTES,
  decodeCheckpoint,
  decodeJournalEntry,
  encodeCheckpoint,
  encodeJournalEntry,
  jsonOf,
  validateCheckpointInput,
  validateDecision,
  validatePendingInput,
} from './activity/run-record.js'
export {
  applyEntry,
  cloneJson,
  compareSortKeys,
  decodeCursor,
  duplicateActivityError,
  encodeCursor,
  encodeDocuments,
  encodeTrajectory,
  type ListSortKey,
  logEntryOf,
  MAX_LOG_ATTEMPT,
  matchesMetadata,
  nowIso,
  percentageSchema,
  queuedEntry,
  sortKeyOf,
  statusList,
  validateAppendInput,
  validateCreateInput,
  validateDocumentKey,
  validateDocumentPrefix,
  validateListDocumentsOptions,
  validateListOptions,
  validateMetadataFilter,
  validateWatchFilter,
} from './activity/store-helpers.js'
export {
  assertStorableFilter,
  assertStorableMetadata,
  assertStorableText,
  isStorableText,
  MAX_METADATA_TEXT_BYTES,
  storableJsonText,
  storableText,
} from './activity/text-policy.js'
export type { CreateOptions, LogEntryOptions, UpdateOptions } from './activity/tracker.js'
export {
  ACTIVE_STATUSES,
  ACTIVITY_STATUSES,
  assertTransition,
  canTransition,
  isActiveStatus,
  isTerminalStatus,
  TERMINAL_STATUSES,
} from './activity/transitions.js'
export type {
  Activity,
  ActivityEvent,
  ActivityLogEntry,
  ActivityLogKind,
  ActivityStatus,
  ActivityStore,
  ActivitySummary,
  AppendActivityInput,
  Checkpoint,
  CheckpointInput,
  ClaimedJob,
  CreateActivityInput,
  Decision,
  DecisionInput,
  DocumentTable,
  DurableJobQueue,
  JournalEntry,
  JournalEntryInput,
  JsonValue,
  ListActivitiesOptions,
  ListActivitiesResult,
  ListDocumentsOptions,
  MetadataFilter,
  MetadataValue,
  PendingRequest,
  PendingRequestInput,
  QueuedJob,
  RecordToolCallOptions,
  RunRecord,
  ScopeOptions,
  StoredDocument,
  Trajectory,
  TrajectoryStep,
  Usage,
  WatchFilter,
} from './activity/types.js'
export { EventHub } from './util/event-hub.js'
export { type BatchOutcome, GroupCommit, type GroupCommitOptions } from './util/group-commit.js'
export { assertJsonDepth, MAX_JSON_DEPTH } from './util/json-limits.js'
export {
  knownSecrets,
  REDACTED,
  redactJsonText,
  redactSecrets,
  redactSecretsIn,
} from './util/secrets.js'
