import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import {
  type ActivityTracker,
  createActivityTracker,
  createPool,
  defineTool,
  MemoryActivityStore,
  type Pool,
} from '@runner/core'
import { ScriptedModel, ScriptedRunner, waitForActivity, waitForStatus } from '@runner/core/test'
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createDashboard } from './app.js'

/** The Chromium the page is tested in: Debian's package, or the one CHROMIUM_PATH names. */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => typeof path === 'string' && path !== '' && existsSync(path),
)
const TOKEN = 'test-token-0123456789abcdef'
const DOCS = new URL('../docs/', import.meta.url)
/** The README's screenshots are written again only when asked: `UPDATE_SCREENSHOTS=1`. */
const screenshot = async (page: Page, name: string) => {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return
  await mkdir(DOCS, { recursive: true })
  await page.screenshot({ path: new URL(name, DOCS).pathname })
}
const TIMEOUT = 15_000

/** Polls what the page shows until the assertion holds (the page updates on its own). */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: TIMEOUT, interval: 50 })
const textOf = (locator: Locator) => async () => (await locator.textContent())?.trim() ?? ''
const visible = (locator: Locator) => locator.waitFor({ state: 'visible', timeout: TIMEOUT })
const hidden = (locator: Locator) => locator.waitFor({ state: 'hidden', timeout: TIMEOUT })
/** A string matched whole, or a pattern as given. */
const exactly = (value: string | RegExp) =>
  typeof value === 'string' ? new RegExp(`^${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : value

const describeInBrowser = CHROMIUM === undefined ? describe.skip : describe

describeInBrowser(
  CHROMIUM === undefined
    ? 'the page in a real browser (skipped: no Chromium at /usr/bin/chromium or CHROMIUM_PATH)'
    : 'the page in a real browser',
  () => {
    let activity: ActivityTracker
    let pool: Pool
    let server: ReturnType<typeof serve>
    let browser: Browser
    let context: BrowserContext
    let page: Page
    /** The dashboard's root URL (mounted under a base path, so the page's relative URLs are tested). */
    let root: string
    const sent: string[] = []
    /** Script errors and CSP violations seen in the page: none expected. */
    const problems: string[] = []
    const gates = { allowed: 0, waiters: [] as (() => void)[] }
    const advance = () => {
      gates.allowed++
      for (const wake of gates.waiters.splice(0)) wake()
    }
    const until = async (step: number) => {
      while (gates.allowed < step) await new Promise<void>((resolve) => gates.waiters.push(resolve))
    }
    const api = (path: string, init: RequestInit = {}) => fetch(`${root}api/${path}`, init)
    const authorized = { authorization: `Bearer ${TOKEN}` }

    let crawl: ReturnType<typeof defineTasks>['crawl']
    let hang: ReturnType<typeof defineTasks>['hang']
    let mail: ReturnType<typeof defineTasks>['mail']
    let notify: ReturnType<typeof defineTasks>['notify']

    function defineTasks(target: Pool) {
      const runner = new ScriptedRunner({ activity })
      const model = new ScriptedModel([
        {
          toolCalls: [{ name: 'lookup', input: { name: 'Ada' }, id: 'call-0' }],
          usage: { inputTokens: 120, outputTokens: 30 },
          delayMs: 40,
        },
        {
          toolCalls: [{ name: 'send_email', input: { to: 'ada@example.org' }, id: 'call-1' }],
          usage: { inputTokens: 180, outputTokens: 25 },
          delayMs: 60,
        },
        { text: 'Sent.', usage: { inputTokens: 220, outputTokens: 12 }, delayMs: 30 },
      ])
      const lookup = defineTool({
        name: 'lookup',
        description: 'Finds an address',
        inputSchema: z.object({ name: z.string() }),
        execute: async ({ name }) => {
          await new Promise((resolve) => setTimeout(resolve, 25))
          return `${name.toLowerCase()}@example.org`
        },
      })
      const email = defineTool({
        name: 'send_email',
        description: 'Sends an email',
        inputSchema: z.object({ to: z.string() }),
        needsApproval: true,
        execute: ({ to }) => {
          sent.push(to)
          return `sent to ${to}`
        },
      })
      return {
        crawl: target.task('crawl', { input: z.object({ site: z.string() }) }, async ({ report }) => {
          await report('Crawled 1 of 10 pages', 10)
          await until(1)
          await report('Crawled 5 of 10 pages', 50)
          await until(2)
          await report('Crawled 9 of 10 pages', 90)
          await until(3)
          return 'crawled'
        }),
        hang: target.task('index', { input: z.string() }, async ({ report, signal }) => {
          await report('Indexing', 20)
          await new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
          )
        }),
        mail: target.task('mail', { input: z.string() }, async ({ agentId, input, signal }) => {
          const result = await runner.run(
            { model, modelId: 'gpt-4o-mini', provider: 'openai', tools: [lookup, email] },
            input,
            { agentId, signal },
          )
          return result.text ?? null
        }),
        notify: target.task('notify', { input: z.string() }, async ({ agentId, input, signal }) => {
          const script = new ScriptedModel([
            { toolCalls: [{ name: 'send_email', input: { to: 'everyone@example.org' }, id: 'call-9' }] },
            { text: 'Not sent.' },
          ])
          const result = await runner.run({ model: script, tools: [email] }, input, { agentId, signal })
          return result.text ?? null
        }),
      }
    }

    beforeAll(async () => {
      activity = createActivityTracker({ store: new MemoryActivityStore() })
      pool = createPool({ activity, concurrency: 8 })
      ;({ crawl, hang, mail, notify } = defineTasks(pool))
      const dashboard = createDashboard({ activity, pool, token: TOKEN, basePath: '/ops', heartbeatMs: 1000 })
      const address = await new Promise<AddressInfo>((resolve) => {
        server = serve({ fetch: dashboard.fetch, port: 0, hostname: '127.0.0.1' }, resolve)
      })
      root = `http://127.0.0.1:${address.port}/ops/`
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
      })
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      page = await context.newPage()
      page.on('pageerror', (error) => problems.push(error.message))
      page.on('console', (message) => {
        // A refused request (401 on purpose) is logged too: what must never happen is a CSP violation.
        if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
          problems.push(message.text())
      })
    }, 30_000)

    afterEach(() => {
      expect(problems.splice(0)).toEqual([])
    })

    afterAll(async () => {
      await browser?.close()
      await pool?.close({ timeoutMs: 1000 })
      await new Promise((resolve) => server?.close(resolve))
    })

    /** The row of a run in the list. */
    const row = (agentId: string) => page.locator(`tr[data-id="${agentId}"]`)

    it('the API refuses a request without the token; the page takes it from #token= and drops it from the address bar', async () => {
      const refused = await api('runs')
      expect(refused.status).toBe(401)
      expect(((await refused.json()) as { error: { name: string } }).error.name).toBe('Unauthorized')
      expect((await api('runs', { headers: authorized })).status).toBe(200)

      const seeded = await activity.create('report', {
        metadata: { tenant: 'acme' },
        message: 'Queued by the nightly job',
      })
      // The base path without its slash redirects to the page (its relative URLs need it); the fragment stays.
      await page.goto(`${root.slice(0, -1)}#token=${TOKEN}`)
      await visible(row(seeded))
      expect(page.url()).toBe(root)
      expect(await page.evaluate(() => sessionStorage.getItem('runner-dashboard-token'))).toBe(TOKEN)
      await poll(textOf(row(seeded).locator('td').nth(2))).toMatch(exactly('acme'))
    }, 30_000)

    it('lists runs as they are created; a running task’s progress bar and message move live', async () => {
      const { agentId } = await crawl.enqueue({ site: 'example.org' }, { metadata: { tenant: 'globex' } })
      const bar = row(agentId).locator('.bar')
      // The page was loaded before the run existed: it arrives through the live stream.
      await poll(() => bar.getAttribute('aria-valuenow')).toBe('10')
      await poll(textOf(row(agentId))).toContain('Crawled 1 of 10 pages')
      await poll(textOf(row(agentId).locator('.status'))).toMatch(exactly('running'))
      await poll(textOf(row(agentId))).toContain('crawl')
      // New runs are at the top.
      await poll(() => page.locator('tbody tr').first().getAttribute('data-id')).toBe(agentId)
      const widthOf = () =>
        bar.locator('span').evaluate((node) => (node as unknown as { style: { width: string } }).style.width)
      expect(await widthOf()).toBe('10%')

      advance()
      await poll(() => bar.getAttribute('aria-valuenow')).toBe('50')
      expect(await widthOf()).toBe('50%')
      await poll(textOf(row(agentId))).toContain('Crawled 5 of 10 pages')
      advance()
      await poll(() => bar.getAttribute('aria-valuenow')).toBe('90')
      advance()
      await poll(textOf(row(agentId).locator('.status'))).toMatch(exactly('complete'))
      await poll(() => bar.getAttribute('aria-valuenow')).toBe('100')
      // The counts strip follows (it is reloaded at most once a second).
      await poll(textOf(page.locator('.count[data-status="complete"] b'))).toMatch(exactly('1'))
    }, 30_000)

    it('filters by status, agent type, text and metadata; the filter is kept in the address', async () => {
      const other = await activity.create('report', {
        metadata: { tenant: 'initech' },
        message: 'Quarterly numbers',
      })
      await visible(row(other))
      await page.getByLabel('Metadata').fill('tenant=initech')
      await poll(() => page.locator('tbody tr').count()).toBe(1)
      await visible(row(other))
      expect(new URL(page.url()).searchParams.get('metadata')).toBe('tenant=initech')
      await page.getByLabel('Metadata').fill('')
      await page.getByLabel('Agent type').fill('crawl')
      await poll(() => page.locator('tbody tr').count()).toBe(1)
      await poll(textOf(page.locator('tbody tr .run-link'))).toMatch(exactly('crawl'))
      await page.getByLabel('Agent type').fill('')
      await page.getByLabel('Search').fill('quarterly')
      await poll(() => page.locator('tbody tr').count()).toBe(1)
      await visible(row(other))
      await page.getByLabel('Search').fill('')
      await page.getByLabel('Status', { exact: true }).selectOption('complete')
      await poll(() => page.locator('tbody tr').count()).toBe(1)
      await poll(textOf(page.locator('tbody tr .status'))).toMatch(exactly('complete'))
      await page.reload()
      await poll(() => page.getByLabel('Status', { exact: true }).inputValue()).toMatch(exactly('complete'))
      await poll(() => page.locator('tbody tr').count()).toBe(1)
      await page.getByLabel('Status', { exact: true }).selectOption('')
      await visible(row(other))
    }, 30_000)

    it('cancels a running task from its page: the page and the store say canceled', async () => {
      const { agentId } = await hang.enqueue('everything')
      await waitForStatus(activity, agentId, 'running')
      await page.goto(`${root}runs/${encodeURIComponent(agentId)}`)
      await poll(textOf(page.locator('h1 .status'))).toMatch(exactly('running'))
      await poll(() => page.locator('.timeline li').count()).toBe(3)
      await page.getByRole('button', { name: 'Cancel run' }).click()
      await poll(textOf(page.locator('h1 .status'))).toMatch(exactly('canceled'))
      await poll(textOf(page.locator('.timeline li').last())).toContain('canceled')
      await hidden(page.getByRole('button', { name: 'Cancel run' }))
      expect((await activity.detail(agentId)).status).toBe('canceled')
      // Back to the list with the history API: the row says canceled too.
      await page.goBack()
      await page.goto(root)
      await poll(textOf(row(agentId).locator('.status'))).toMatch(exactly('canceled'))
    }, 30_000)

    it('approves a pending tool call from the run’s page (with edited input): the run continues to complete', async () => {
      const { agentId } = await mail.enqueue('Email Ada the report', { metadata: { tenant: 'acme' } })
      const result = mail.result(agentId)
      await waitForStatus(activity, agentId, 'waiting', TIMEOUT)
      await page.goto(root)
      await row(agentId).locator('.run-link').click()
      expect(new URL(page.url()).pathname).toBe(`/ops/runs/${agentId}`)
      const card = page.locator('.card.pending[data-tool-call="call-1"]')
      await poll(textOf(card)).toContain('send_email')
      await poll(textOf(page.locator('h1 .status'))).toMatch(exactly('waiting'))
      // The trajectory so far: two model calls and the lookup, grouped by turn.
      await poll(() => page.locator('.waterfall .step.model-call').count()).toBe(2)
      await poll(() => page.locator('.waterfall .turn').count()).toBeGreaterThan(0)
      await page.locator('.waterfall .step.tool-call').first().click()
      await poll(textOf(page.locator('.step-detail'))).toContain('ada@example.org')
      await screenshot(page, 'run.png')

      const input = card.getByLabel('Input (JSON)')
      await poll(() => input.inputValue()).toMatch(exactly(/ada@example\.org/))
      await input.fill('{ "to": "ada.lovelace@example.org" }')
      await card.getByRole('button', { name: 'Approve' }).click()
      await poll(textOf(page.locator('h1 .status'))).toMatch(exactly('complete'))
      await expect(result).resolves.toBe('Sent.')
      expect(sent).toEqual(['ada.lovelace@example.org'])
      await hidden(card)
      await poll(textOf(page.locator('.timeline'))).toContain('approved')
      await poll(() => page.locator('.waterfall .step.model-call').count()).toBe(3)
      await poll(textOf(page.locator('.meta'))).toContain('Tokens')
      // gpt-4o-mini has a catalog price: the run's cost is shown in dollars.
      await poll(textOf(page.locator('.meta'))).toMatch(/Cost\s*\$0\.000\d+/)
    }, 30_000)

    it('denies a pending tool call with a reason: the tool does not run and the model reads the denial', async () => {
      const { agentId } = await notify.enqueue('Tell everyone')
      const result = notify.result(agentId)
      await waitForStatus(activity, agentId, 'waiting', TIMEOUT)
      await page.goto(`${root}runs/${agentId}`)
      const card = page.locator('.card.pending[data-tool-call="call-9"]')
      await visible(card)
      await card.getByLabel('Reason').fill('not to everyone')
      await card.getByRole('button', { name: 'Deny' }).click()
      await poll(textOf(page.locator('h1 .status'))).toBe('complete')
      await expect(result).resolves.toBe('Not sent.')
      expect(sent).not.toContain('everyone@example.org')
      await poll(textOf(page.locator('.timeline'))).toContain('denied')
      await hidden(card)
    }, 30_000)

    it('reconnects when the connection drops: a run’s log resumes without repeating entries, the list reloads', async () => {
      const dropConnections = () =>
        (server as unknown as { closeAllConnections(): void }).closeAllConnections()
      gates.allowed = 0
      const { agentId } = await crawl.enqueue({ site: 'flaky.example.org' })
      await waitForActivity(activity, agentId, (run) => run.percentage === 10)
      await page.goto(`${root}runs/${agentId}`)
      await poll(() => page.locator('.timeline li').count()).toBe(3)
      dropConnections()
      await poll(textOf(page.locator('#live'))).toBe('reconnecting')
      advance()
      await poll(() => page.locator('.run-progress .bar').getAttribute('aria-valuenow')).toBe('50')
      advance()
      advance()
      await poll(textOf(page.locator('h1 .status'))).toBe('complete')
      const { log } = await activity.detail(agentId)
      await poll(() => page.locator('.timeline li').count()).toBe(log.length)
      expect(await page.locator('.timeline .entry-message').allTextContents()).toEqual(
        log.map((entry) => entry.message),
      )

      await page.goto(root)
      await poll(textOf(page.locator('#live'))).toBe('live')
      dropConnections()
      const created = await activity.create('report', { message: 'Made while the page was away' })
      await visible(row(created))
      await poll(textOf(page.locator('#live'))).toBe('live')
      await activity.cancel(created)
    }, 30_000)

    it('the list at rest (screenshot)', async () => {
      gates.allowed = 0
      const { agentId } = await crawl.enqueue({ site: 'docs.example.org' }, { metadata: { tenant: 'acme' } })
      advance()
      await waitForActivity(activity, agentId, (run) => run.percentage === 50)
      const failing = await activity.create('summarize', { metadata: { tenant: 'globex' } })
      await activity.update(failing, 'Reading 14 documents', { percentage: 35 })
      await activity.error(failing, new Error('Rate limited by the model provider'))
      await page.goto(root)
      await poll(() => page.locator('tbody tr').count()).toBe(10)
      await poll(textOf(page.locator('.count[data-status="running"] b'))).toMatch(exactly('1'))
      await screenshot(page, 'runs.png')
      advance()
      advance()
    }, 30_000)

    it('shows a message that looks like HTML as text: no element is created from it', async () => {
      const hostile = '<img src=x onerror=alert(1)>'
      const agentId = await activity.create('<b>type</b>', {
        metadata: { tenant: '<script>alert(2)</script>' },
      })
      await activity.update(agentId, hostile, { percentage: 5 })
      let dialogs = 0
      page.on('dialog', () => dialogs++)
      await poll(textOf(row(agentId).locator('td.msg'))).toMatch(exactly(hostile))
      await poll(textOf(row(agentId))).toContain('<b>type</b>')
      await poll(textOf(row(agentId))).toContain('<script>alert(2)</script>')
      expect(await page.locator('img').count()).toBe(0)
      expect(await page.locator('main b:not(.count b)').count()).toBe(0)
      // And on the run's page (its header, log and metadata).
      await row(agentId).locator('.run-link').click()
      await poll(textOf(page.locator('.timeline'))).toContain(hostile)
      await poll(textOf(page.locator('p.message'))).toMatch(exactly(hostile))
      expect(await page.locator('img').count()).toBe(0)
      expect(await page.locator('script').count()).toBe(1)
      expect(dialogs).toBe(0)
      await activity.complete(agentId)
    }, 30_000)

    it('asks for the token when it has none, and a wrong one is refused', async () => {
      const fresh = await browser.newPage()
      try {
        await fresh.goto(root)
        const dialog = fresh.locator('dialog#auth')
        await visible(dialog)
        await fresh.getByLabel('Token').fill('not-the-token-at-all')
        await fresh.getByRole('button', { name: 'Continue' }).click()
        await poll(textOf(fresh.locator('#auth-message'))).toMatch(exactly(/refused/))
        await fresh.getByLabel('Token').fill(TOKEN)
        await fresh.getByRole('button', { name: 'Continue' }).click()
        await hidden(dialog)
        await visible(fresh.locator('tbody tr').first())
        await poll(textOf(fresh.locator('#live'))).toMatch(exactly('live'))
      } finally {
        await fresh.close()
      }
    }, 30_000)

    it('a request refused by the application’s own auth check shows its error, without asking for a token', async () => {
      const refusing = createDashboard({ activity, auth: () => false })
      let other: ReturnType<typeof serve> | undefined
      const address = await new Promise<AddressInfo>((resolve) => {
        other = serve({ fetch: refusing.fetch, port: 0, hostname: '127.0.0.1' }, resolve)
      })
      const fresh = await browser.newPage()
      try {
        await fresh.goto(`http://127.0.0.1:${address.port}/`)
        await poll(textOf(fresh.locator('.error-box'))).toBe('Not allowed.')
        expect(await fresh.locator('dialog#auth').isVisible()).toBe(false)
      } finally {
        await fresh.close()
        await new Promise((resolve) => other?.close(resolve))
      }
    }, 30_000)
  },
)
