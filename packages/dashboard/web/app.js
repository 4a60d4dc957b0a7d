// The dashboard's page: plain ES module, no framework, no build step. Everything that comes from
// the store is shown with textContent, never parsed as HTML.

const STATUSES = ['queued', 'running', 'waiting', 'complete', 'error', 'canceled']
const TERMINAL = new Set(['complete', 'error', 'canceled'])
const TOKEN_KEY = 'runner-dashboard-token'

/** The dashboard's root path (ends with "/"): the page is served there and at `runs/<id>` below it. */
const ROOT = (() => {
  const path = location.pathname
  const run = path.match(/^(.*\/)runs\/[^/]+$/)
  return run ? run[1] : path.replace(/[^/]*$/, '')
})()

// The token: from `#token=` once (then off the address bar), else from this tab's session storage.
let token = sessionStorage.getItem(TOKEN_KEY) ?? ''
if (location.hash.startsWith('#token=')) {
  token = decodeURIComponent(location.hash.slice('#token='.length))
  sessionStorage.setItem(TOKEN_KEY, token)
  history.replaceState(history.state, '', location.pathname + location.search)
}

const main = document.getElementById('main')
const live = document.getElementById('live')
document.getElementById('home').href = ROOT

// ---- DOM helpers -------------------------------------------------------------------------------

/** An element: `props` are properties (`className`, `textContent`, `onclick`...) or `data-*` attributes. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('data-') || key.startsWith('aria-') || ['title', 'role', 'list'].includes(key))
      node.setAttribute(key, value)
    else node[key] = value
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child)
  }
  return node
}

function statusBadge(status) {
  return el('span', { className: `status ${status}`, textContent: status })
}

function progressBar(status, percentage) {
  const fill = el('span')
  const node = el(
    'div',
    { className: 'progress' },
    el('div', { className: `bar ${status}` }, fill),
    el('span', { className: 'pct' }),
  )
  setProgress(node, status, percentage)
  return node
}

function setProgress(node, status, percentage) {
  const value = Math.max(0, Math.min(100, Number(percentage) || 0))
  const bar = node.querySelector('.bar')
  bar.className = `bar ${status}`
  bar.setAttribute('role', 'progressbar')
  bar.setAttribute('aria-valuenow', String(value))
  node.querySelector('.bar > span').style.width = `${value}%`
  node.querySelector('.pct').textContent = `${value}%`
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' })

function ago(iso) {
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000)
  const abs = Math.abs(seconds)
  if (abs < 5) return 'just now'
  if (abs < 60) return relative.format(seconds, 'second')
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute')
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour')
  return relative.format(Math.round(seconds / 86400), 'day')
}

/** A time shown as "3 min ago", kept up to date, with the exact time on hover. */
function timeAgo(iso) {
  if (!iso) return el('span', { className: 'muted', textContent: '—' })
  return el('time', {
    className: 'ago',
    dateTime: iso,
    title: new Date(iso).toLocaleString(),
    textContent: ago(iso),
  })
}

setInterval(() => {
  for (const node of document.querySelectorAll('time.ago')) node.textContent = ago(node.dateTime)
}, 5000)

function duration(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return ''
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  return minutes < 60
    ? `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`
    : `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

function text(value) {
  if (value === undefined) return ''
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2)
}

// ---- API -----------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`)
    this.status = status
    this.field = error?.field
  }
}

let asking

/** Asks for the token (once for every request that needs it); resolves when one is given. */
function askToken(message) {
  if (!asking) {
    const dialog = document.getElementById('auth')
    const input = document.getElementById('auth-token')
    document.getElementById('auth-message').textContent = message ?? 'This dashboard needs its access token.'
    input.value = ''
    asking = new Promise((resolve) => {
      document.getElementById('auth-form').onsubmit = () => {
        token = input.value.trim()
        sessionStorage.setItem(TOKEN_KEY, token)
        asking = undefined
        resolve()
      }
    })
    dialog.oncancel = (event) => event.preventDefault()
    dialog.showModal()
  }
  return asking
}

function headers(extra = {}) {
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra
}

async function api(path, init = {}) {
  const response = await fetch(ROOT + path, {
    ...init,
    headers: headers(init.body ? { 'content-type': 'application/json' } : {}),
  })
  const body = await response.json().catch(() => null)
  if (response.status === 401 && response.headers.has('www-authenticate')) {
    await askToken(token ? 'That token was refused: enter the right one.' : undefined)
    return api(path, init)
  }
  if (!response.ok) throw new ApiError(response.status, body?.error)
  return body
}

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send the token): calls
 * `on[event](data)`, reconnects with backoff and `Last-Event-ID`; `on.open(reconnect, resumed)` on
 * each connection. Stops when `signal` aborts, on 204, or when a handler returns `'stop'`.
 */
function stream(path, on, signal) {
  let lastId = ''
  let delay = 1000
  let connections = 0
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  void (async () => {
    while (!signal.aborted) {
      try {
        const response = await fetch(ROOT + path, {
          headers: headers({ accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }),
          signal,
          cache: 'no-store',
        })
        if (response.status === 401 && response.headers.has('www-authenticate')) {
          await askToken(token ? 'That token was refused: enter the right one.' : undefined)
          continue
        }
        if (response.status === 204) return on.close?.()
        if (response.status === 400 && lastId) {
          lastId = ''
          continue
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`)
        on.open?.(connections++ > 0, lastId !== '')
        delay = 1000
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value.replace(/\r\n?/g, '\n')
          let end = buffer.indexOf('\n\n')
          while (end >= 0) {
            const frame = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            end = buffer.indexOf('\n\n')
            let event = 'message'
            const data = []
            for (const line of frame.split('\n')) {
              if (line === '' || line.startsWith(':')) continue
              const colon = line.indexOf(':')
              const field = colon < 0 ? line : line.slice(0, colon)
              const content = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
              if (field === 'event') event = content
              else if (field === 'data') data.push(content)
              else if (field === 'id') lastId = content
            }
            if (data.length === 0 || !on[event]) continue
            let parsed
            try {
              parsed = JSON.parse(data.join('\n'))
            } catch {
              continue
            }
            if (on[event](parsed) === 'stop') {
              reader.cancel().catch(() => {})
              return on.close?.()
            }
          }
        }
      } catch {
        if (signal.aborted) return
      }
      on.down?.()
      await sleep(delay + Math.random() * 250)
      delay = Math.min(delay * 2, 30_000)
    }
  })()
}

function setLive(state) {
  live.className = `live ${state === 'live' ? 'on' : state === 'off' ? 'off' : ''}`
  live.textContent = state === 'live' ? 'live' : state === 'off' ? 'reconnecting' : state
}

// ---- Routing -------------------------------------------------------------------------------------

let view // { abort: AbortController }

function route() {
  view?.abort.abort()
  view = { abort: new AbortController() }
  const path = location.pathname.startsWith(ROOT) ? location.pathname.slice(ROOT.length) : ''
  const run = path.match(/^runs\/([^/]+)$/)
  main.replaceChildren()
  if (run) runPage(decodeURIComponent(run[1]), view.abort.signal)
  else listPage(view.abort.signal)
}

function navigate(url) {
  history.pushState(null, '', url)
  route()
  scrollTo(0, 0)
}

/** A link inside the page: followed with the history API, or in a new tab with a modifier key. */
function link(href, props, ...children) {
  const node = el('a', { href, ...props }, ...children)
  node.addEventListener('click', (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(href)
  })
  return node
}

const runHref = (id) => `${ROOT}runs/${encodeURIComponent(id)}`

addEventListener('popstate', route)
document.getElementById('home').addEventListener('click', (event) => {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  event.preventDefault()
  navigate(ROOT)
})

// ---- The runs --------------------------------------------------------------------------------------

function filtersOfUrl() {
  const params = new URLSearchParams(location.search)
  return {
    status: params.get('status') ?? '',
    agentType: params.get('agentType') ?? '',
    q: params.get('q') ?? '',
    metadata: params.get('metadata') ?? '',
  }
}

/** `key=value` pairs (space or comma separated) of the metadata filter. */
function metadataPairs(textValue) {
  return textValue
    .split(/[\s,]+/)
    .map((pair) => pair.split('='))
    .filter((parts) => parts.length >= 2 && parts[0] !== '')
    .map(([key, ...rest]) => [key, rest.join('=')])
}

function queryOf(filters) {
  const params = new URLSearchParams()
  if (filters.status) params.set('status', filters.status)
  if (filters.agentType) params.set('agentType', filters.agentType)
  if (filters.q.trim()) params.set('q', filters.q.trim())
  for (const [key, value] of metadataPairs(filters.metadata)) params.set(`metadata.${key}`, value)
  return params
}

function matches(filters, item) {
  if (filters.status && !filters.status.split(',').includes(item.status)) return false
  if (filters.agentType && item.agentType !== filters.agentType) return false
  const q = filters.q.trim().toLowerCase()
  if (q && !item.message.toLowerCase().includes(q) && !item.agentId.toLowerCase().includes(q)) return false
  for (const [key, value] of metadataPairs(filters.metadata)) {
    if (String(item.metadata?.[key]) !== value) return false
  }
  return true
}

function listPage(signal) {
  document.title = 'Runs'
  const filters = filtersOfUrl()
  const rows = new Map()
  const types = new Set()
  let cursor
  let showTenant = false
  let loading = 0

  const counts = el('div', { className: 'counts', 'aria-label': 'Runs by status' })
  const statusSelect = el(
    'select',
    { 'aria-label': 'Status', name: 'status' },
    el('option', { value: '', textContent: 'Every status' }),
    el('option', { value: 'queued,running,waiting', textContent: 'Unfinished' }),
    STATUSES.map((status) => el('option', { value: status, textContent: status })),
  )
  const typeList = el('datalist', { id: 'agent-types' })
  const typeInput = el('input', {
    type: 'search',
    placeholder: 'Agent type',
    name: 'agentType',
    list: 'agent-types',
    'aria-label': 'Agent type',
  })
  const search = el('input', {
    type: 'search',
    placeholder: 'Search message or id',
    name: 'q',
    'aria-label': 'Search',
  })
  const metadata = el('input', {
    type: 'search',
    placeholder: 'metadata key=value',
    name: 'metadata',
    'aria-label': 'Metadata',
  })
  statusSelect.value = filters.status
  if (statusSelect.value !== filters.status)
    statusSelect.append(el('option', { value: filters.status, textContent: filters.status, selected: true }))
  typeInput.value = filters.agentType
  search.value = filters.q
  metadata.value = filters.metadata
  const form = el(
    'form',
    { className: 'filters', role: 'search' },
    statusSelect,
    typeInput,
    typeList,
    search,
    metadata,
  )
  form.addEventListener('submit', (event) => event.preventDefault())

  const tenantHead = el('th', { textContent: 'Tenant', hidden: true })
  const body = el('tbody')
  const table = el(
    'table',
    {},
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { textContent: 'Status' }),
        el('th', { textContent: 'Agent type' }),
        tenantHead,
        el('th', { textContent: 'Progress' }),
        el('th', { textContent: 'Message' }),
        el('th', { textContent: 'Created' }),
        el('th', { textContent: 'Updated' }),
      ),
    ),
    body,
  )
  const empty = el('p', { className: 'muted', textContent: 'No runs match.', hidden: true })
  const problem = el('p', { className: 'error-box', hidden: true })
  const moreButton = el('button', { type: 'button', textContent: 'Load more', hidden: true })
  const shown = el('span', { className: 'muted' })
  main.append(
    counts,
    form,
    problem,
    el('div', { className: 'table-wrap' }, table),
    empty,
    el('div', { className: 'more' }, moreButton, shown),
  )

  function fail(error) {
    problem.textContent = error.message
    problem.hidden = false
  }

  function row(item) {
    const cells = {
      status: el('td'),
      type: el('td'),
      tenant: el('td', { className: 'nowrap', hidden: !showTenant }),
      progress: el('td'),
      message: el('td', { className: 'msg' }),
      created: el('td', { className: 'age' }),
      updated: el('td', { className: 'age' }),
    }
    cells.progress.append(progressBar(item.status, item.percentage))
    cells.type.append(
      link(runHref(item.agentId), {
        className: 'run-link',
        textContent: item.agentType,
        title: item.agentId,
      }),
    )
    const tr = el('tr', { 'data-id': item.agentId }, Object.values(cells))
    const entry = { tr, cells, item }
    update(entry, item)
    return entry
  }

  function update(entry, item) {
    entry.item = item
    entry.tr.dataset.status = item.status
    entry.cells.status.replaceChildren(statusBadge(item.status))
    setProgress(entry.cells.progress.firstChild, item.status, item.percentage)
    entry.cells.message.textContent = item.message
    entry.cells.message.title = item.message
    entry.cells.tenant.textContent = item.metadata?.tenant === undefined ? '' : String(item.metadata.tenant)
    entry.cells.created.replaceChildren(timeAgo(item.createdAt))
    entry.cells.updated.replaceChildren(timeAgo(item.updatedAt))
    noteItem(item)
    entry.cells.tenant.hidden = !showTenant
  }

  function noteItem(item) {
    if (!types.has(item.agentType)) {
      types.add(item.agentType)
      typeList.append(el('option', { value: item.agentType }))
    }
    if (!showTenant && item.metadata && item.metadata.tenant !== undefined) {
      showTenant = true
      tenantHead.hidden = false
      for (const entry of rows.values()) entry.cells.tenant.hidden = false
    }
  }

  function refreshFooter() {
    empty.hidden = rows.size > 0 || loading > 0
    moreButton.hidden = !cursor
    shown.textContent = rows.size > 0 ? `${rows.size} shown` : ''
  }

  let generation = 0
  async function load(reset) {
    const params = queryOf(filters)
    params.set('limit', '50')
    if (!reset && cursor) params.set('cursor', cursor)
    const mine = reset ? ++generation : generation
    loading++
    moreButton.disabled = true
    try {
      const page = await api(`api/runs?${params}`)
      // A newer load (the filters changed) wins over this one.
      if (signal.aborted || mine !== generation) return
      // What the live stream brought while the page was read is newer than the page.
      const known = new Map([...rows].map(([id, entry]) => [id, entry.item]))
      if (reset) {
        rows.clear()
        body.replaceChildren()
      }
      problem.hidden = true
      for (const fetched of page.items) {
        const seen = known.get(fetched.agentId)
        const item = seen && seen.updatedAt > fetched.updatedAt ? seen : fetched
        const existing = rows.get(item.agentId)
        if (existing) update(existing, item)
        else {
          const entry = row(item)
          rows.set(item.agentId, entry)
          body.append(entry.tr)
        }
      }
      cursor = page.nextCursor
    } catch (error) {
      if (!signal.aborted) fail(error)
    } finally {
      loading--
      moreButton.disabled = false
      refreshFooter()
    }
  }

  const countButtons = new Map()
  for (const status of STATUSES) {
    const value = el('b', { textContent: '–' })
    const button = el(
      'button',
      { type: 'button', className: 'count', 'data-status': status },
      value,
      statusBadge(status),
    )
    button.addEventListener('click', () => {
      statusSelect.value = filters.status === status ? '' : status
      applyFilters()
    })
    countButtons.set(status, { button, value })
    counts.append(button)
  }

  let statsTimer
  async function loadStats() {
    statsTimer = undefined
    try {
      const stats = await api('api/stats')
      if (signal.aborted) return
      for (const [status, { button, value }] of countButtons) {
        value.textContent = String(stats.counts[status] ?? 0)
        button.classList.toggle('active', filters.status === status)
      }
    } catch (error) {
      if (!signal.aborted) fail(error)
    }
  }
  const soonStats = () => {
    statsTimer ??= setTimeout(loadStats, 1000)
  }
  signal.addEventListener('abort', () => clearTimeout(statsTimer))

  let typing
  function applyFilters() {
    filters.status = statusSelect.value
    filters.agentType = typeInput.value.trim()
    filters.q = search.value
    filters.metadata = metadata.value
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(filters)) if (value.trim()) params.set(key, value.trim())
    const query = params.toString()
    history.replaceState(null, '', query ? `${ROOT}?${query}` : ROOT)
    cursor = undefined
    for (const [status, { button }] of countButtons)
      button.classList.toggle('active', filters.status === status)
    void load(true)
  }
  statusSelect.addEventListener('change', applyFilters)
  for (const input of [typeInput, search, metadata]) {
    input.addEventListener('input', () => {
      clearTimeout(typing)
      typing = setTimeout(applyFilters, 300)
    })
  }
  moreButton.addEventListener('click', () => load(false))

  void load(true)
  void loadStats()

  stream(
    'api/events',
    {
      open(reconnect, resumed) {
        setLive('live')
        // A reconnect that could not say where it was (no event seen yet) reloads by itself.
        if (reconnect && !resumed) {
          void load(true)
          void loadStats()
        }
      },
      resync() {
        void load(true)
        void loadStats()
      },
      activity({ agentId, activity }) {
        soonStats()
        const existing = rows.get(agentId)
        if (existing) return update(existing, activity)
        if (!matches(filters, activity)) return
        const entry = row(activity)
        rows.set(agentId, entry)
        body.prepend(entry.tr)
        refreshFooter()
      },
      down() {
        setLive('off')
      },
    },
    signal,
  )
}

// ---- One run -----------------------------------------------------------------------------------

/** A price in US dollars, with the digits a fraction of a cent needs. */
function usd(value) {
  return `$${value >= 0.01 ? value.toFixed(2) : value.toPrecision(2)}`
}

function runPage(agentId, signal) {
  document.title = `Run ${agentId}`
  const back = link(ROOT, { textContent: '← All runs' })
  const title = el('h1')
  const actions = el('div', { className: 'head-actions' })
  const cancelButton = el('button', {
    type: 'button',
    className: 'danger',
    textContent: 'Cancel run',
    hidden: true,
  })
  const retryButton = el('button', {
    type: 'button',
    textContent: 'Retry',
    title: 'Enqueue this task again with the same input',
    hidden: true,
  })
  actions.append(retryButton, cancelButton)
  const progress = progressBar('queued', 0)
  progress.classList.add('run-progress')
  const message = el('p', { className: 'message' })
  const meta = el('dl', { className: 'meta' })
  const problem = el('p', { className: 'error-box', hidden: true })
  const pending = el('section', { className: 'pending-list', hidden: true })
  const timeline = el('ol', { className: 'timeline', 'aria-label': 'Log' })
  const waterfall = el('div', { className: 'waterfall' })
  const stepDetail = el('div', { className: 'step-detail' })
  const trajectoryNote = el('p', { className: 'muted' })
  const childList = el('ul', { className: 'children' })
  const childSection = el('section', { hidden: true }, el('h2', { textContent: 'Children' }), childList)
  main.append(
    el('p', {}, back),
    el('div', { className: 'headline' }, title, actions),
    problem,
    progress,
    message,
    meta,
    pending,
    childSection,
    el(
      'div',
      { className: 'columns' },
      el('section', {}, el('h2', { textContent: 'Log' }), timeline),
      el('section', {}, el('h2', { textContent: 'Trajectory' }), trajectoryNote, waterfall, stepDetail),
    ),
  )

  let summary
  let detail
  let selectedStep
  let pendingKey = ''

  function fail(error) {
    problem.textContent = error.message
    problem.hidden = false
  }

  function showSummary(activity) {
    summary = activity
    title.replaceChildren(el('span', { textContent: activity.agentType }), statusBadge(activity.status))
    setProgress(progress, activity.status, activity.percentage)
    message.textContent = activity.message
    cancelButton.hidden = TERMINAL.has(activity.status)
    retryButton.hidden = activity.status !== 'error'
    showMeta()
  }

  function showMeta() {
    if (!summary) return
    const items = [
      ['Id', el('span', { className: 'mono', textContent: summary.agentId })],
      ['Created', timeAgo(summary.createdAt)],
      ['Started', timeAgo(summary.startedAt)],
      ['Finished', timeAgo(summary.finishedAt)],
    ]
    if (summary.startedAt && summary.finishedAt) {
      items.push(['Duration', duration(Date.parse(summary.finishedAt) - Date.parse(summary.startedAt))])
    }
    const usage = detail?.trajectory?.usage ?? detail?.run?.checkpoint?.usage
    if (usage) {
      items.push([
        'Tokens',
        `${usage.totalTokens ?? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0)} (in ${usage.inputTokens ?? 0}, out ${usage.outputTokens ?? 0})`,
      ])
      // Absent cost means the model has no known price: "—", never $0.
      items.push(['Cost', typeof usage.costUsd === 'number' ? usd(usage.costUsd) : '—'])
    }
    const checkpoint = detail?.run?.checkpoint
    if (checkpoint)
      items.push([
        'Checkpoint',
        `turn ${checkpoint.turn}, attempt ${checkpoint.attempt}, ${checkpoint.runner}`,
      ])
    if (detail?.run?.expiresAt) items.push(['Decision expires', timeAgo(detail.run.expiresAt)])
    for (const [key, value] of Object.entries(summary.metadata ?? {})) {
      // The parent of a child run or task links to its page.
      if (key === 'parentId' && typeof value === 'string')
        items.push(['Parent', link(runHref(value), { className: 'mono', textContent: value })])
      else items.push([key, text(value)])
    }
    meta.replaceChildren(
      ...items.map(([label, value]) => el('div', {}, el('dt', { textContent: label }), el('dd', {}, value))),
    )
  }

  function showEntry(entry) {
    const tags = []
    if (entry.kind) tags.push(el('span', { className: 'tag', textContent: entry.kind }))
    if (entry.attempt && entry.attempt > 1)
      tags.push(el('span', { className: 'tag', textContent: `attempt ${entry.attempt}` }))
    timeline.append(
      el(
        'li',
        { className: entry.status },
        el('span', {
          className: 'when',
          textContent: new Date(entry.at).toLocaleTimeString(),
          title: entry.at,
        }),
        statusBadge(entry.status),
        ' ',
        el('span', { className: 'entry-message', textContent: entry.message }),
        typeof entry.percentage === 'number'
          ? el('span', { className: 'muted', textContent: ` ${entry.percentage}%` })
          : null,
        tags,
      ),
    )
  }

  function showPending() {
    const requests = (detail?.run?.pending ?? []).filter(
      (request) => request.kind === 'approval' && !request.decision,
    )
    const key = requests.map((request) => request.id).join('\n')
    if (key === pendingKey) return
    pendingKey = key
    pending.hidden = requests.length === 0
    pending.replaceChildren(el('h2', { textContent: 'Waiting for approval' }), ...requests.map(approvalCard))
  }

  function approvalCard(request) {
    const input = el('textarea', {
      value: JSON.stringify(request.input ?? null, null, 2),
      'aria-label': 'Input (JSON)',
      spellcheck: false,
    })
    const reason = el('input', {
      className: 'reason',
      placeholder: 'Reason (optional)',
      'aria-label': 'Reason',
    })
    const note = el('span', { className: 'muted' })
    const approve = el('button', { type: 'button', className: 'primary', textContent: 'Approve' })
    const deny = el('button', { type: 'button', className: 'danger', textContent: 'Deny' })
    const decide = async (action) => {
      const payload = { toolCallId: request.id }
      if (reason.value.trim()) payload.reason = reason.value.trim()
      if (action === 'approve') {
        const original = JSON.stringify(request.input ?? null, null, 2)
        if (input.value !== original) {
          try {
            payload.input = JSON.parse(input.value)
          } catch (error) {
            note.textContent = `The input is not JSON: ${error.message}`
            return
          }
        }
      }
      approve.disabled = deny.disabled = true
      note.textContent = action === 'approve' ? 'Approving…' : 'Denying…'
      try {
        await api(`api/runs/${encodeURIComponent(agentId)}/${action}`, {
          method: 'POST',
          body: JSON.stringify(payload),
        })
        note.textContent = action === 'approve' ? 'Approved.' : 'Denied.'
        void loadDetail()
      } catch (error) {
        note.textContent = error.message
        approve.disabled = deny.disabled = false
      }
    }
    approve.addEventListener('click', () => decide('approve'))
    deny.addEventListener('click', () => decide('deny'))
    return el(
      'div',
      { className: 'card pending', 'data-tool-call': request.id },
      el(
        'div',
        {},
        el('strong', { textContent: request.toolName ?? 'Tool call' }),
        el('span', { className: 'muted mono', textContent: `  ${request.id}` }),
      ),
      input,
      el('div', { className: 'actions' }, approve, deny, reason, note),
    )
  }

  function showTrajectory() {
    const trajectory = detail?.trajectory
    if (!trajectory || trajectory.steps.length === 0) {
      trajectoryNote.textContent =
        summary && TERMINAL.has(summary.status)
          ? 'No trajectory was recorded.'
          : 'The trajectory is saved when the run ends or waits.'
      waterfall.hidden = true
      stepDetail.replaceChildren()
      return
    }
    waterfall.hidden = false
    const spans = trajectory.steps.map((step) => {
      const end = Date.parse(step.at)
      return { step, start: end - (step.durationMs ?? 0), end }
    })
    const first = Math.min(Date.parse(trajectory.startedAt), ...spans.map((span) => span.start))
    const last = Math.max(Date.parse(trajectory.finishedAt), ...spans.map((span) => span.end))
    const total = Math.max(1, last - first)
    trajectoryNote.textContent = `${trajectory.steps.length} steps over ${duration(total)} (${trajectory.status})`
    const children = []
    let turn
    for (const { step, start, end } of spans) {
      if (step.turn !== turn) {
        turn = step.turn
        children.push(
          el('div', {
            className: 'turn',
            textContent: turn === 0 ? 'Before the first turn' : `Turn ${turn}`,
          }),
        )
      }
      const bar = el('span')
      bar.style.left = `${((start - first) / total) * 100}%`
      bar.style.width = `${Math.max(0.4, ((end - start) / total) * 100)}%`
      const failed = step.data?.isError === true || step.data?.error !== undefined
      const button = el(
        'button',
        {
          type: 'button',
          className: `step ${step.kind}${failed ? ' failed' : ''}`,
          'data-index': step.index,
        },
        el('span', { className: 'label', textContent: stepLabel(step) }),
        el('span', { className: 'track' }, bar),
        el('span', { className: 'dur', textContent: duration(step.durationMs) }),
      )
      button.addEventListener('click', () => {
        selectedStep = step.index === selectedStep ? undefined : step.index
        showStep()
      })
      children.push(button)
    }
    waterfall.replaceChildren(...children)
    showStep()
  }

  function stepLabel(step) {
    const data = step.data ?? {}
    const name = data.toolName ?? data.name ?? data.model ?? data.message
    return `${step.kind}${typeof name === 'string' ? `: ${name}` : ''}`
  }

  function showStep() {
    for (const node of waterfall.querySelectorAll('.step'))
      node.classList.toggle('selected', Number(node.dataset.index) === selectedStep)
    const step = detail?.trajectory?.steps.find((candidate) => candidate.index === selectedStep)
    if (!step) return stepDetail.replaceChildren()
    const parts = [
      el('h2', { textContent: `Step ${step.index}: ${step.kind}` }),
      el('p', {
        className: 'muted',
        textContent: `turn ${step.turn}, attempt ${step.attempt}, at ${step.at}${step.durationMs !== undefined ? `, ${duration(step.durationMs)}` : ''}`,
      }),
    ]
    const data = { ...(step.data ?? {}) }
    for (const key of ['input', 'output', 'error']) {
      if (data[key] === undefined) continue
      parts.push(el('h3', { textContent: key }), el('pre', { textContent: text(data[key]) }))
      delete data[key]
    }
    if (Object.keys(data).length > 0)
      parts.push(el('h3', { textContent: 'data' }), el('pre', { textContent: text(data) }))
    stepDetail.replaceChildren(...parts)
  }

  /** The runs and tasks started inside this one, each a link with its status and progress. */
  function showChildren() {
    const children = detail?.children ?? []
    childSection.hidden = children.length === 0
    childList.replaceChildren(
      ...children.map((child) =>
        el(
          'li',
          {},
          link(runHref(child.agentId), { className: 'mono', textContent: child.agentId }),
          ' ',
          statusBadge(child.status),
          ' ',
          el('span', { className: 'muted', textContent: `${child.agentType}: ${child.message}` }),
        ),
      ),
    )
    if (detail && detail.childCount > children.length)
      childList.append(
        el('li', { className: 'muted', textContent: `and ${detail.childCount - children.length} more` }),
      )
  }

  let loadingDetail
  let detailAgain = false
  async function loadDetail() {
    if (loadingDetail) {
      detailAgain = true
      return loadingDetail
    }
    loadingDetail = (async () => {
      try {
        do {
          detailAgain = false
          const body = await api(`api/runs/${encodeURIComponent(agentId)}`)
          if (signal.aborted) return
          detail = body
          problem.hidden = true
          showSummary(body.activity)
          showPending()
          showChildren()
          showTrajectory()
        } while (detailAgain && !signal.aborted)
      } catch (error) {
        if (!signal.aborted) fail(error.status === 404 ? new Error(`No run ${agentId}.`) : error)
      } finally {
        loadingDetail = undefined
      }
    })()
    return loadingDetail
  }

  let detailTimer
  const soonDetail = () => {
    clearTimeout(detailTimer)
    detailTimer = setTimeout(loadDetail, 250)
  }
  signal.addEventListener('abort', () => clearTimeout(detailTimer))

  cancelButton.addEventListener('click', async () => {
    cancelButton.disabled = true
    try {
      await api(`api/runs/${encodeURIComponent(agentId)}/cancel`, { method: 'POST' })
      soonDetail()
    } catch (error) {
      fail(error)
    } finally {
      cancelButton.disabled = false
    }
  })

  retryButton.addEventListener('click', async () => {
    retryButton.disabled = true
    try {
      const body = await api(`api/runs/${encodeURIComponent(agentId)}/retry`, { method: 'POST' })
      navigate(runHref(body.agentId))
    } catch (error) {
      fail(error)
    } finally {
      retryButton.disabled = false
    }
  })

  void loadDetail().then(() => {
    if (signal.aborted || problem.hidden === false) return
    let lastStatus
    stream(
      `api/runs/${encodeURIComponent(agentId)}/events`,
      {
        open() {
          setLive('live')
        },
        entry({ entry, activity }) {
          showEntry(entry)
          showSummary(activity)
          if (entry.status !== lastStatus || entry.kind) soonDetail()
          lastStatus = entry.status
        },
        end() {
          soonDetail()
          return 'stop'
        },
        close() {
          setLive('run ended')
        },
        down() {
          setLive('off')
        },
      },
      signal,
    )
  })
}

route()
