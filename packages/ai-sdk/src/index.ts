export type { AISDKAgent, AISDKSettings } from './agent.js'
export { AISDKRunner } from './ai-sdk-runner.js'
export type { AISDKCheckpointState } from './durable-conversation.js'
export type { AISDKInput } from './input.js'
export { isRetryableAISDKError } from './map-error.js'
export type { AISDKGenerateOutput, AISDKOutput, AISDKStreamOutput } from './output.js'
export type { AISDKRunnerSettings, ReportStatusMode } from './settings.js'
export {
  type RunStatusData,
  type RunUIMessageStreamOptions,
  toAISDKStream,
  toUIMessageStreamResponse,
} from './ui-message-stream.js'
export { VERSION } from './version.js'
