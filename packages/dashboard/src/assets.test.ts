import { MemoryActivityStore } from '@runner/core'
import { describe, expect, it } from 'vitest'
import { createDashboard } from './app.js'

/** What the browser loads for the page: its HTML, script, styles and icon. */
const PAGE_FILES = ['/', '/app.js', '/app.css', '/favicon.svg']

describe('the page files', () => {
  const dashboard = createDashboard({ activity: new MemoryActivityStore(), basePath: '/ops' })
  const get = (path: string) => dashboard.fetch(new Request(`http://localhost${path}`))

  it('serves the page at the root and at a run’s route, with its files beside both', async () => {
    for (const path of ['/ops/', '/ops/index.html', '/ops/runs/r-1', '/ops/runs/job.v2', '/ops/anything']) {
      const response = await get(path)
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-type'), path).toBe('text/html; charset=utf-8')
      expect(response.headers.get('content-security-policy'), path).toContain("script-src 'self'")
    }
    for (const prefix of ['/ops/', '/ops/runs/']) {
      expect((await get(`${prefix}app.js`)).headers.get('content-type')).toBe(
        'text/javascript; charset=utf-8',
      )
      expect((await get(`${prefix}app.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8')
      expect((await get(`${prefix}favicon.svg`)).headers.get('content-type')).toBe('image/svg+xml')
    }
    expect((await get('/ops/other.js')).status).toBe(404)
    expect((await get('/ops/deeper/path/app.js')).status).toBe(404)
  })

  it('redirects the base path without its slash to the page (its relative links need the slash)', async () => {
    const response = await get('/ops?status=running')
    expect(response.status).toBe(308)
    expect(response.headers.get('location')).toBe('/ops/?status=running')
  })

  it('keeps the page small: under 48 KB for everything the browser loads', async () => {
    let total = 0
    for (const path of PAGE_FILES) total += (await (await get(`/ops${path}`)).arrayBuffer()).byteLength
    expect(total).toBeGreaterThan(10_000)
    expect(total).toBeLessThan(48 * 1024)
  })

  it('has no inline script or style in the HTML (the CSP refuses them); the script never parses HTML', async () => {
    const script = await (await get('/ops/app.js')).text()
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|setAttribute\('style'/)
    const html = await (await get('/ops/')).text()
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i)
  })
})
