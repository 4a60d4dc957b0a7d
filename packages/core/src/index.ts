export { MemoryActivityStore } from './activity/memory-store.js'
export * as storeHelpers from './activity/store-helpers.js'
export type {
  ActivityTracker,
  ActivityTrackerOptions,
  CreateOptions,
  LifecycleMessages,
  UpdateOptions,
} from './activity/tracker.js'
export { createActivityTracker, defaultLifecycleMessages, errorMessage } from './activity/tracker.js'
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
export * from './errors/index.js'
export { VERSION } from './version.js'
