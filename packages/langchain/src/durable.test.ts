import { AIMessage, type BaseMessage, type ToolMessage } from '@langchain/core/messages'
import { tool } from '@langchain/core/tools'
import { END, interrupt, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph'
import { ToolNode } from '@langchain/langgraph/prebuilt'
import {
  type ActivityStore,
  InvalidOptionsError,
  MemoryActivityStore,
  RunNotResumableError,
  type RunResult,
} from '@runner/core'
import { completed } from '@runner/core/test'
import { ScenarioPlayer, scenario } from '@runner/testkit'
import { createAgent, humanInTheLoopMiddleware } from 'langchain'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { LangChainRunner } from './index.js'
import { logLines, modes, rejectionOf, until } from './test-helpers/run-modes.js'
import { ScenarioChatModel, type ScenarioRequest } from './test-helpers/scenario-chat-model.js'

/** Side effects that live outside any one process (a mail server, an API): what must not happen twice. */
function outbox() {
  const sent: Array<{ to: string; key: unknown }> = []
  const sendEmail = tool(
    async ({ to }: { to: string }, config) => {
      sent.push({ to, key: config.metadata?.runner_idempotency_key })
      return `sent to ${to}`
    },
    { name: 'send_email', description: 'Sends an email.', schema: z.object({ to: z.string() }) },
  )
  return { sent, sendEmail }
}

/** Two runner instances on one store: two processes sharing a database. */
function twoRunners(store: ActivityStore = new MemoryActivityStore()) {
  const options = { activity: store, retry: { attempts: 1 } }
  return { store, first: new LangChainRunner(options), second: new LangChainRunner(options) }
}

function waitingOf(result: RunResult): Extract<RunResult, { status: 'waiting' }> {
  if (result.status !== 'waiting') throw new Error(`expected a waiting run, got ${result.status}`)
  return result
}

const lastRequest = (player: ScenarioPlayer) => player.calls.at(-1)?.request as ScenarioRequest

/** A createAgent agent whose send_email needs a person's approval (LangChain's middleware). */
function mailAgent(
  runner: LangChainRunner,
  player: ScenarioPlayer,
  sendEmail: ReturnType<typeof outbox>['sendEmail'],
  allowedDecisions: Array<'approve' | 'edit' | 'reject'> = ['approve', 'edit', 'reject'],
) {
  return createAgent({
    model: new ScenarioChatModel(player),
    tools: runner.wrapTools([sendEmail]),
    middleware: [humanInTheLoopMiddleware({ interruptOn: { send_email: { allowedDecisions } } })],
  })
}

const mailScript = () =>
  scenario().toolCall('send_email', { to: 'ada@example.org' }, { id: 'call-mail' }).text('Done.')

describe('approvals through humanInTheLoopMiddleware', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: the interrupt suspends the run (waiting, the tool call as an approval request); another runner approves and resumes it`, async () => {
      const { store, first, second } = twoRunners()
      const { sent, sendEmail } = outbox()
      const player = new ScenarioPlayer(mailScript())
      const options = { agentId: `mail-${streamed}` }
      const started = streamed
        ? first.runStreamed(mailAgent(first, player, sendEmail), 'Mail Ada.', options).result
        : first.run(mailAgent(first, player, sendEmail), 'Mail Ada.', options)
      const waiting = waitingOf(await started)
      expect(waiting.pending).toEqual([
        {
          id: 'call-mail',
          kind: 'approval',
          toolName: 'send_email',
          input: { to: 'ada@example.org' },
          payload: {
            description: expect.stringContaining('Tool: send_email'),
            allowedDecisions: ['approve', 'edit', 'reject'],
          },
        },
      ])
      expect(sent).toEqual([])
      expect((await store.get(options.agentId))?.status).toBe('waiting')

      await second.approve(options.agentId, 'call-mail', { by: 'ops' })
      const done = await completed(second.resume(mailAgent(second, player, sendEmail), options.agentId))
      expect(done.text).toBe('Done.')
      expect(sent).toEqual([{ to: 'ada@example.org', key: `${options.agentId}:call-mail` }])
      // One model call before the wait, one after: the model was not asked again for the first.
      expect(player.calls).toHaveLength(2)
      expect(done.turns).toBe(2)
      const messages = (done.output as { messages: BaseMessage[] }).messages
      expect(messages.map((message) => message.getType())).toEqual(['human', 'ai', 'tool', 'ai'])
      expect(logLines((await store.get(options.agentId))!)).toEqual([
        'queued: Waiting to start (0%)',
        'running: Started',
        'waiting: Waiting for approval of send_email',
        'running: Resumed at turn 1 with decisions: send_email approved by ops',
        'complete: Complete (100%)',
      ])
    })
  }

  it('deny: the tool never runs; the model reads "Tool call denied: <reason>"', async () => {
    const { first, second } = twoRunners()
    const { sent, sendEmail } = outbox()
    const player = new ScenarioPlayer(mailScript())
    const waiting = waitingOf(await first.run(mailAgent(first, player, sendEmail), 'Mail Ada.'))
    await second.deny(waiting.agentId, 'call-mail', { reason: 'not to Ada' })
    const done = await completed(second.resume(mailAgent(second, player, sendEmail), waiting.agentId))
    expect(done.text).toBe('Done.')
    expect(sent).toEqual([])
    const tools = lastRequest(player).messages.filter((message) => message.type === 'tool')
    expect(tools.map((message) => message.content)).toEqual(['Tool call denied: not to Ada'])
  })

  it('edit: approving with an input runs the tool with it (the middleware’s edit decision)', async () => {
    const { first, second } = twoRunners()
    const { sent, sendEmail } = outbox()
    const player = new ScenarioPlayer(mailScript())
    const waiting = waitingOf(await first.run(mailAgent(first, player, sendEmail), 'Mail Ada.'))
    const done = await completed(
      second.resume(mailAgent(second, player, sendEmail), waiting.agentId, {
        decisions: { 'call-mail': { type: 'approve', input: { to: 'grace@example.org' } } },
      }),
    )
    expect(done.text).toBe('Done.')
    expect(sent.map((mail) => mail.to)).toEqual(['grace@example.org'])
  })

  it('a decision the middleware does not allow for the tool fails the resumed run, naming the decision', async () => {
    const { first, second } = twoRunners()
    const { sent, sendEmail } = outbox()
    const player = new ScenarioPlayer(mailScript())
    const agent = () => mailAgent(second, player, sendEmail, ['approve', 'reject'])
    const waiting = waitingOf(await first.run(agent(), 'Mail Ada.'))
    const error = await rejectionOf(
      second.resume(agent(), waiting.agentId, {
        decisions: { 'call-mail': { type: 'approve', input: { to: 'grace@example.org' } } },
      }),
    )
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('decisions.call-mail.input')
    expect(sent).toEqual([])
  })

  it('several calls of one answer: one request each, decided one by one', async () => {
    const { first, second } = twoRunners()
    const { sent, sendEmail } = outbox()
    const player = new ScenarioPlayer(
      scenario()
        .toolCalls([
          { name: 'send_email', input: { to: 'ada@example.org' }, id: 'call-ada' },
          { name: 'send_email', input: { to: 'bob@example.org' }, id: 'call-bob' },
        ])
        .text('Both sent.'),
    )
    const waiting = waitingOf(await first.run(mailAgent(first, player, sendEmail), 'Mail both.'))
    expect(waiting.pending.map((request) => [request.id, request.input])).toEqual([
      ['call-ada', { to: 'ada@example.org' }],
      ['call-bob', { to: 'bob@example.org' }],
    ])
    await second.approve(waiting.agentId, 'call-ada')
    const undecided = await rejectionOf(second.resume(mailAgent(second, player, sendEmail), waiting.agentId))
    expect(RunNotResumableError.isInstance(undecided)).toBe(true)
    await second.approve(waiting.agentId, 'call-bob')
    const done = await completed(second.resume(mailAgent(second, player, sendEmail), waiting.agentId))
    expect(done.text).toBe('Both sent.')
    expect(sent.map((mail) => mail.to).sort()).toEqual(['ada@example.org', 'bob@example.org'])
  })
})

describe('a raw interrupt()', () => {
  it('in a graph node: the run waits for a value (kind input, the interrupt’s payload); respond resumes the node with it', async () => {
    const { first, second } = twoRunners()
    const answers: unknown[] = []
    const graph = () =>
      new StateGraph(MessagesAnnotation)
        .addNode('confirm', async () => {
          const answer = interrupt({ question: 'Publish the report?' })
          answers.push(answer)
          return { messages: [new AIMessage(answer === 'yes' ? 'Published.' : 'Kept as a draft.')] }
        })
        .addEdge(START, 'confirm')
        .addEdge('confirm', END)
        .compile()
    const waiting = waitingOf(await first.run(graph(), 'Publish it.'))
    expect(waiting.pending).toEqual([
      { id: expect.any(String), kind: 'input', payload: { question: 'Publish the report?' } },
    ])
    const [request] = waiting.pending
    await second.respond(waiting.agentId, request!.id, 'yes')
    const done = await completed(second.resume(graph(), waiting.agentId))
    expect(done.text).toBe('Published.')
    expect(answers).toEqual(['yes'])
  })

  it('in a wrapped tool of a createAgent agent: the tool runs again on resume and gets the value', async () => {
    const { first, second } = twoRunners()
    const answers: unknown[] = []
    const confirm = tool(
      async ({ what }: { what: string }) => {
        const answer = interrupt({ question: `Really ${what}?` })
        answers.push(answer)
        return `answer: ${String(answer)}`
      },
      { name: 'confirm', description: 'Asks the user.', schema: z.object({ what: z.string() }) },
    )
    const player = new ScenarioPlayer(scenario().toolCall('confirm', { what: 'delete' }).text('Deleted.'))
    const agent = (runner: LangChainRunner) =>
      createAgent({ model: new ScenarioChatModel(player), tools: runner.wrapTools([confirm]) })
    const waiting = waitingOf(await first.run(agent(first), 'Clean up.'))
    expect(waiting.pending[0]).toMatchObject({ kind: 'input', payload: { question: 'Really delete?' } })
    await second.respond(waiting.agentId, waiting.pending[0]!.id, 'sure')
    const done = await completed(second.resume(agent(second), waiting.agentId))
    expect(done.text).toBe('Deleted.')
    expect(answers).toEqual(['sure'])
    const tools = lastRequest(player).messages.filter((message) => message.type === 'tool')
    expect(tools.map((message) => message.content)).toEqual(['answer: sure'])
  })

  it('a graph with a checkpointer of its own keeps it (and its thread_id): the runner lends none', async () => {
    const runner = new LangChainRunner()
    const own = new MemorySaver()
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('ask', async () => ({ messages: [new AIMessage(String(interrupt('Name?')))] }))
      .addEdge(START, 'ask')
      .addEdge('ask', END)
      .compile({ checkpointer: own })
      .withConfig({ configurable: { thread_id: 'my-thread' } })
    const waiting = waitingOf(await runner.run(graph, 'Hi.'))
    expect(await own.getTuple({ configurable: { thread_id: 'my-thread' } })).toBeDefined()
    expect(
      await runner.checkpointer?.getTuple({ configurable: { thread_id: waiting.agentId } }),
    ).toBeUndefined()
    await runner.respond(waiting.agentId, waiting.pending[0]!.id, 'Ada')
    const done = await completed(runner.resume(graph, waiting.agentId))
    expect(done.text).toBe('Ada')
  })
})

/** A tool that hangs forever the first time it is asked (a process that died mid-call), as any process sees it. */
function sharedTools() {
  const searched: string[] = []
  const fetched: string[] = []
  let hang = true
  const search = tool(
    async ({ query }: { query: string }) => {
      searched.push(query)
      return `results for ${query}`
    },
    { name: 'search', description: 'Searches the web.', schema: z.object({ query: z.string() }) },
  )
  const fetchPage = tool(
    async ({ url }: { url: string }) => {
      fetched.push(url)
      if (hang) {
        hang = false
        await new Promise(() => {})
      }
      return `page ${url}`
    },
    { name: 'fetch_page', description: 'Fetches a page.', schema: z.object({ url: z.string() }) },
  )
  return { searched, fetched, search, fetchPage, neverHang: () => (hang = false) }
}

const crashScript = () =>
  scenario()
    .toolCalls([
      { name: 'search', input: { query: 'otters' }, id: 'call-search' },
      { name: 'fetch_page', input: { url: 'https://otters.example' }, id: 'call-fetch' },
    ])
    .usage({ inputTokens: 10, outputTokens: 5 })
    .text('Otters hold hands while they sleep.')
    .usage({ inputTokens: 30, outputTokens: 8 })

/** The same agent in two shapes: createAgent (one LangGraph task per tool call) and a ToolNode (one task for all). */
const shapes = [
  {
    label: 'createAgent',
    agent: (runner: LangChainRunner, player: ScenarioPlayer, tools: ReturnType<typeof sharedTools>) =>
      createAgent({
        model: new ScenarioChatModel(player),
        tools: runner.wrapTools([tools.search, tools.fetchPage]),
      }),
  },
  {
    label: 'StateGraph + ToolNode',
    agent: (runner: LangChainRunner, player: ScenarioPlayer, tools: ReturnType<typeof sharedTools>) => {
      const graphTools = runner.wrapTools([tools.search, tools.fetchPage])
      const model = new ScenarioChatModel(player).bindTools(graphTools)
      return new StateGraph(MessagesAnnotation)
        .addNode('agent', async (state: typeof MessagesAnnotation.State) => ({
          messages: [await model.invoke(state.messages)],
        }))
        .addNode('tools', new ToolNode(graphTools))
        .addEdge(START, 'agent')
        .addConditionalEdges('agent', (state: typeof MessagesAnnotation.State) =>
          (state.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : END,
        )
        .addEdge('tools', 'agent')
        .compile()
    },
  },
]

describe('crash and resume', () => {
  for (const shape of shapes) {
    it(`${shape.label}: a process lost mid-tool; a fresh runner resumes by agentId; completed tools do not run again; same answer`, async () => {
      // The answer of a run that nothing interrupted.
      const reference = sharedTools()
      reference.neverHang()
      const plain = new LangChainRunner()
      const expected = await completed(
        plain.run(shape.agent(plain, new ScenarioPlayer(crashScript()), reference), 'Otters?'),
      )

      const { store, first, second } = twoRunners()
      const tools = sharedTools()
      const player = new ScenarioPlayer(crashScript())
      const agentId = `crash-${shape.label}`
      // The first process: search completes, fetch_page hangs, and the process is gone (never settles).
      void first.run(shape.agent(first, player, tools), 'Otters?', { agentId }).catch(() => {})
      await until(() => tools.searched.length === 1 && tools.fetched.length === 1, 'both tool calls')
      await untilAsync(async () => (await store.getRun(agentId))?.journal.length === 1, 'the journal entry')
      const record = await store.getRun(agentId)
      expect(record?.status).toBe('running')
      expect(record?.checkpoint?.state).toEqual({ thread: agentId, from: null })
      expect(record?.checkpoint?.turn).toBe(1)

      const done = await completed(second.resume(shape.agent(second, player, tools), agentId))
      expect(done.text).toBe(expected.text)
      expect(tools.searched).toEqual(['otters'])
      expect(tools.fetched).toEqual(['https://otters.example', 'https://otters.example'])
      // Model calls: the first one (before the loss) and the final one; the first is not made again.
      expect(player.calls).toHaveLength(2)
      expect(done.turns).toBe(2)
      expect(done.usage.totalTokens).toBe(53)
      const types = (output: unknown) =>
        (output as { messages: BaseMessage[] }).messages.map((message) => message.getType())
      expect(types(done.output)).toEqual(types(expected.output))
      const toolContents = (output: unknown) =>
        (output as { messages: BaseMessage[] }).messages
          .filter((message): message is ToolMessage => message.getType() === 'tool')
          .map((message) => message.content)
          .sort()
      expect(toolContents(done.output)).toEqual(toolContents(expected.output))
      expect(logLines((await store.get(agentId))!).at(-2)).toMatch(
        /^running: Resumed from its checkpoint at turn 1/,
      )
      // createAgent runs each tool call as a LangGraph task: the finished one's writes are in the
      // thread, so LangGraph itself skips it. A ToolNode runs both in one task, which runs again:
      // the search call is then answered from the run's journal.
      const replayed = done.trajectory?.steps.filter((step) => step.data.replayed === true) ?? []
      expect(replayed.map((step) => step.data.toolName)).toEqual(
        shape.label === 'createAgent' ? [] : ['search'],
      )
    })
  }

  it('a retried attempt continues the thread from its last checkpoint: the input is not added twice, no tool runs twice', async () => {
    const runner = new LangChainRunner({ retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 } })
    const tools = sharedTools()
    tools.neverHang()
    const player = new ScenarioPlayer(
      scenario()
        .toolCall('search', { query: 'otters' }, { id: 'call-search' })
        .error(500)
        .text('Otters hold hands.'),
    )
    const done = await completed(runner.run(shapes[0]!.agent(runner, player, tools), 'Otters?'))
    expect(done.text).toBe('Otters hold hands.')
    expect(done.attempts).toBe(2)
    expect(tools.searched).toEqual(['otters'])
    expect(lastRequest(player).messages.map((message) => message.type)).toEqual(['human', 'ai', 'tool'])
  })

  it('a resume of a run whose agent is not a graph is refused (only a graph keeps the state to continue from)', async () => {
    const { first, second } = twoRunners()
    const { sendEmail } = outbox()
    const player = new ScenarioPlayer(mailScript())
    const waiting = waitingOf(await first.run(mailAgent(first, player, sendEmail), 'Mail Ada.'))
    await second.approve(waiting.agentId, 'call-mail')
    const error = await rejectionOf(second.resume(new ScenarioChatModel(player), waiting.agentId))
    expect(RunNotResumableError.isInstance(error), String(error)).toBe(true)
    expect((error as RunNotResumableError).reason).toBe('mismatch')
  })

  it('durable: false: no checkpointer is lent, nothing is checkpointed, the graph keeps no thread', async () => {
    const runner = new LangChainRunner()
    const tools = sharedTools()
    tools.neverHang()
    const player = new ScenarioPlayer(crashScript())
    const done = await completed(
      runner.run(shapes[0]!.agent(runner, player, tools), 'Otters?', { agentId: 'plain', durable: false }),
    )
    expect(done.text).toBe('Otters hold hands while they sleep.')
    expect((await runner.activity.store.getRun('plain'))?.checkpoint).toBeUndefined()
    expect(await runner.checkpointer?.getTuple({ configurable: { thread_id: 'plain' } })).toBeUndefined()
  })
})

/** Waits until an async condition holds. */
async function untilAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
