export type { OpenAIAgent, OpenAIApi } from './agent.js'
export type {
  OpenAIChatOutput,
  OpenAIInput,
  OpenAIOutput,
  OpenAIResponsesOutput,
} from './conversation.js'
export type { OpenAIModelSettings } from './model-settings.js'
export { OpenAIRunner } from './openai-runner.js'
export type { OpenAIRunnerSettings, ReportStatusMode } from './settings.js'
export { VERSION } from './version.js'
