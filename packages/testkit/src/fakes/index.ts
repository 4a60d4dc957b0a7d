export type { ProtocolName } from './protocol-codec.js'
export {
  type PlayedScenario,
  type PlayOptions,
  type ProtocolFake,
  type ProtocolFakeOptions,
  type RecordedRequest,
  startProtocolFake,
} from './protocol-fake.js'
