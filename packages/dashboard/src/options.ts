import type { ActivityStore, ActivityTracker, MetadataFilter, Pool } from '@runner/core'
import { InvalidOptionsError } from '@runner/core'

/** Options of `createDashboard`. */
export interface DashboardOptions {
  /** The store to show: an `ActivityStore`, or a tracker (its store is used). */
  activity: ActivityStore | ActivityTracker
  /**
   * The pool whose tasks the dashboard may act on: cancel goes through `pool.cancel` (a running
   * task's signal aborts), approve and deny through `pool.approve` / `pool.deny` (the task
   * continues on a worker). Without it, cancel marks the activity `canceled` in the store (the
   * process running it stops at its next write) and approvals are refused with 409.
   */
  pool?: Pool
  /**
   * A token every API request must carry as `Authorization: Bearer <token>`. The page asks for it
   * once (or takes it from `#token=` in its URL) and keeps it in the tab's session storage.
   */
  token?: string
  /**
   * Your own check of an API request (a session cookie, an identity header from a proxy): resolve
   * `true` to let it through. Checked after the token, when both are given.
   */
  auth?: (request: Request) => boolean | Promise<boolean>
  /**
   * The metadata filter of the caller's tenant, applied to every read, watch and action: a run of
   * another tenant is answered 404, as if it did not exist. `undefined` for a caller who sees every
   * run.
   */
  tenant?: (request: Request) => MetadataFilter | undefined | Promise<MetadataFilter | undefined>
  /** The path the dashboard is mounted under (`/admin/runs`). Default: `/`. */
  basePath?: string
  /** A heartbeat comment on live streams this often. Default 15,000 ms. */
  heartbeatMs?: number
}

/** The store of `activity`, whichever form it was given in. */
export function storeOf(activity: ActivityStore | ActivityTracker): ActivityStore {
  return 'store' in activity && typeof activity.store === 'object'
    ? activity.store
    : (activity as ActivityStore)
}

/** Checks the options; throws `InvalidOptionsError` naming the field. */
export function validateDashboardOptions(options: DashboardOptions): void {
  const issues: { field: string; message: string }[] = []
  const given = options as Partial<DashboardOptions> | undefined
  if (typeof given !== 'object' || given === null) {
    throw new InvalidOptionsError([{ field: 'options', message: 'must be an object with `activity`' }], {
      subject: 'dashboard options',
    })
  }
  const store =
    typeof given.activity === 'object' && given.activity !== null ? storeOf(given.activity) : undefined
  if (!store || typeof store.list !== 'function' || typeof store.watch !== 'function') {
    issues.push({ field: 'activity', message: 'must be an ActivityStore or an ActivityTracker' })
  }
  if (
    given.pool !== undefined &&
    (typeof given.pool !== 'object' || typeof given.pool.cancel !== 'function')
  ) {
    issues.push({ field: 'pool', message: 'must be a Pool from createPool' })
  }
  if (given.token !== undefined && (typeof given.token !== 'string' || given.token.length < 16)) {
    issues.push({ field: 'token', message: 'must be a string of at least 16 characters' })
  }
  for (const name of ['auth', 'tenant'] as const) {
    if (given[name] !== undefined && typeof given[name] !== 'function') {
      issues.push({ field: name, message: 'must be a function of the request' })
    }
  }
  if (
    given.basePath !== undefined &&
    (typeof given.basePath !== 'string' || !given.basePath.startsWith('/'))
  ) {
    issues.push({ field: 'basePath', message: 'must be a path starting with "/"' })
  }
  if (
    given.heartbeatMs !== undefined &&
    (!Number.isSafeInteger(given.heartbeatMs) || (given.heartbeatMs as number) < 0)
  ) {
    issues.push({ field: 'heartbeatMs', message: 'must be an integer number of milliseconds, 0 for none' })
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'dashboard options' })
}
