/**
 * `@runner/dashboard`: a live web page, an HTTP API and a `runner` CLI over any activity store.
 */
export { createDashboard, type Dashboard, MAX_PAGE_SIZE, MAX_SCANNED_ROWS } from './app.js'
export type { DashboardOptions } from './options.js'
export { DEFAULT_PORT, type ServeDashboardOptions, type ServedDashboard, serveDashboard } from './serve.js'
