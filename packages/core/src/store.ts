/**
 * `@runner/core/store`: what the authors of an `ActivityStore` use, so that every store validates,
 * orders and moves activities alike (and passes `activityStoreConformanceSuite` from the test kit).
 */

export { ACTIVITY_LOG_KINDS } from './activity/log-kinds.js'
export {
  applyEntry,
  cloneJson,
  compareSortKeys,
  decodeCursor,
  encodeCursor,
  type ListSortKey,
  logEntryOf,
  MAX_LOG_ATTEMPT,
  matchesMetadata,
  nowIso,
  percentageSchema,
  sortKeyOf,
  statusList,
  validateAppendInput,
  validateCreateInput,
  validateListOptions,
  validateMetadataFilter,
  validateWatchFilter,
} from './activity/store-helpers.js'
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
  CreateActivityInput,
  ListActivitiesOptions,
  ListActivitiesResult,
  MetadataFilter,
  MetadataValue,
  ScopeOptions,
  Trajectory,
  TrajectoryStep,
  Usage,
  WatchFilter,
} from './activity/types.js'
export { EventHub } from './util/event-hub.js'
