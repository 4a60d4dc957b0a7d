export type {
  Cassette,
  CassetteInteraction,
  CassetteRequest,
  CassetteResponse,
  FetchFunction,
} from './cassette.js'
export { type RecordingFetch, type RecordingFetchOptions, recordingFetch } from './recording-fetch.js'
export {
  type ReplayedCall,
  type ReplayingFetch,
  type ReplayingFetchOptions,
  replayingFetch,
  UnrecordedRequestError,
} from './replaying-fetch.js'
export { CassetteSecretError, type SecretFinding } from './secret-check.js'
