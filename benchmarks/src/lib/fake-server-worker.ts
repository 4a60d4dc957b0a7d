/**
 * Child process of `FakeServer`: the test kit's protocol fake, in a process of its own, so that
 * the server's work is not billed to the client code being measured (a real model server is on
 * another machine), neither in wall time nor in the client's CPU time.
 */
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import type { FakeRequest, FakeResponse, ScenarioSpec } from './fake-server.ts'

const send = process.send?.bind(process)
if (!send)
  throw new Error('fake-server-worker.ts runs as a child process of FakeServer (with an IPC channel).')
// The parent is gone (it exited, or crashed): so is this server.
process.on('disconnect', () => process.exit(0))

let fake: ProtocolFake | undefined

/** The scripted answers of one batch: every run plays the same turns, one after the other. */
function buildScenario(spec: ScenarioSpec) {
  const script = scenario()
  for (let run = 0; run < spec.runs; run++) {
    if (spec.kind === 'tool-then-text') {
      script.toolCall('search', { query: 'sea otters' }).text('Sea otters hold hands while they sleep.')
    } else {
      script.text(Array.from({ length: spec.words }, (_, index) => `w${index}`).join(' '))
    }
  }
  return script
}

async function handle(request: FakeRequest): Promise<Omit<FakeResponse, 'id'>> {
  switch (request.type) {
    case 'start':
      fake = await startProtocolFake({ frameDelayMs: request.frameDelayMs })
      return { ok: true, url: fake.url }
    case 'play':
      if (!fake) throw new Error('The fake server is not started.')
      fake.play(buildScenario(request.spec), { model: request.model })
      return { ok: true }
    case 'errors':
      return { ok: true, errors: (fake?.errors ?? []).map((error) => error.message) }
    case 'close':
      await fake?.close()
      fake = undefined
      return { ok: true }
  }
}

process.on('message', (request: FakeRequest) => {
  handle(request).then(
    (response) => send({ id: request.id, ...response }),
    (error: unknown) =>
      send({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  )
})
