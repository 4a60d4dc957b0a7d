import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { InvalidOptionsError } from '@runner/core'
import { createDashboard, type Dashboard } from './app.js'
import type { DashboardOptions } from './options.js'

/** Options of `serveDashboard`: the dashboard's, and where to listen. */
export interface ServeDashboardOptions extends DashboardOptions {
  /** TCP port; `0` picks a free one. Default 4317. */
  port?: number
  /**
   * Address to listen on. Default `127.0.0.1` (this machine only). Any other address needs a
   * `token` or an `auth` check: the dashboard shows what agents do and can cancel them.
   */
  hostname?: string
}

/** A dashboard listening on a port. */
export interface ServedDashboard {
  /** The page's address (`http://127.0.0.1:4317/`). */
  readonly url: string
  readonly dashboard: Dashboard
  /** Stops listening and ends the open connections (live streams included); runs are not touched. */
  close(): Promise<void>
}

export const DEFAULT_PORT = 4317

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/** Serves a dashboard with Node's http server (through `@hono/node-server`). */
export async function serveDashboard(options: ServeDashboardOptions): Promise<ServedDashboard> {
  const { port = DEFAULT_PORT, hostname = '127.0.0.1', ...dashboardOptions } = options
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidOptionsError([{ field: 'port', message: 'must be an integer from 0 to 65535' }], {
      subject: 'dashboard options',
    })
  }
  if (
    !LOOPBACK.has(hostname) &&
    dashboardOptions.token === undefined &&
    dashboardOptions.auth === undefined
  ) {
    throw new InvalidOptionsError(
      [
        {
          field: 'hostname',
          message: `"${hostname}" is reachable from other machines: give a token (or an auth check), or listen on 127.0.0.1`,
        },
      ],
      { subject: 'dashboard options' },
    )
  }
  const dashboard = createDashboard(dashboardOptions)
  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve({ fetch: dashboard.fetch, port, hostname }, () =>
      resolve(started as Server),
    ) as Server
    started.once('error', reject)
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}${dashboardOptions.basePath?.replace(/\/?$/, '/') ?? '/'}`,
    dashboard,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}
