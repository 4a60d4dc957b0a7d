import type { ActivityLogKind } from './types.js'

/** Every kind of activity log entry (see `ActivityLogKind` for what each records). */
export const ACTIVITY_LOG_KINDS: readonly ActivityLogKind[] = [
  'lifecycle',
  'progress',
  'retry',
  'fallback',
  'resume',
  'approval',
]
