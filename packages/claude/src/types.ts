import type {
  CacheControlEphemeral,
  Message,
  MessageParam,
  StopReason,
  TextBlockParam,
} from '@anthropic-ai/sdk/resources/messages'
import type { AnyToolDefinition } from '@runner/core'

/**
 * Extended thinking. `{ budgetTokens }` turns it on with a fixed budget (at least 1024 and below
 * `maxTokens`); `{ type: 'adaptive' }` lets the model decide; `{ type: 'disabled' }` turns it off
 * where a model thinks by default. Streamed thinking becomes `reasoning-delta` events.
 */
export type ClaudeThinking =
  | {
      type?: 'enabled'
      /** Tokens the model may spend thinking; they count toward `maxTokens`. */
      budgetTokens: number
      /** `'omitted'` returns signed but empty thinking blocks (no `reasoning-delta`). Default: the model's. */
      display?: 'summarized' | 'omitted'
    }
  | {
      type: 'adaptive'
      /** `'omitted'` returns signed but empty thinking blocks (no `reasoning-delta`). Default: the model's. */
      display?: 'summarized' | 'omitted'
    }
  | { type: 'disabled' }

/**
 * Which tools the model may call: `'auto'` (default: it decides), `'any'` (it must call one;
 * `'required'`, OpenAI's name, means the same), `'none'` (it must not), or `{ name }` (it must
 * call that one). `'any'` and `{ name }` make every turn a tool turn, so a run only ends at
 * `maxTurns`: use them with `maxTurnsRecovery`.
 */
export type ClaudeToolChoice = 'auto' | 'any' | 'required' | 'none' | { name: string }

/**
 * Model settings sent with every request of the agent. Keys this runner does not know (such as
 * `temperature`, which OpenAIRunner takes and API version 2026-10-21 refuses with a 400) are
 * ignored, so a definition shared with another runner stays valid. There are no sampling settings:
 * the Messages API of `@anthropic-ai/sdk` 1.x has none.
 */
export interface ClaudeModelSettings {
  /** Extended thinking (`thinking`). Default: the model's own default. */
  thinking?: ClaudeThinking
  /** How much effort the model spends (`output_config.effort`). Default: the model's (`high`). */
  effort?: 'low' | 'medium' | 'high' | 'xhigh' | 'max'
  /** Tool choice (`tool_choice`). Default `'auto'`. Not sent on wrap-up turns, which offer no tools. */
  toolChoice?: ClaudeToolChoice
  /** `false` asks for at most one tool call per turn (`disable_parallel_tool_use`). Default true. */
  parallelToolCalls?: boolean
  /** Text sequences that end the answer (`stop_sequences`, stop reason `stop_sequence`). */
  stopSequences?: string[]
  /** An opaque id of your end user, for abuse detection (`metadata.user_id`). Never an email or name. */
  userId?: string
  /**
   * Automatic prompt caching (`cache_control`): a cache breakpoint on the last cacheable block of
   * every request, so each turn reads the previous turns from the cache. Cache reads are reported
   * as `usage.cachedInputTokens`.
   */
  cacheControl?: CacheControlEphemeral
  /**
   * Any other Messages API body field, sent as is and last (it wins over everything above, but
   * never over `model`, `messages`, `system`, `tools`, `max_tokens` or `stream`, which the runner
   * owns). Unchecked: the API answers a wrong field with a 400 (`BadRequestError`).
   */
  extraBody?: Record<string, unknown>
}

/**
 * A Claude agent. The same neutral `defineTool` tools run on `OpenAIRunner`, and each runner
 * ignores the other's fields, so one definition (`{ model, name?, instructions?, tools?,
 * maxTokens }`) runs on both, a runner's own `model` replacing the definition's; see the README
 * ("One agent definition for Claude and OpenAI").
 */
export interface ClaudeAgent {
  /**
   * The model (`claude-sonnet-5-5`...). A runner created with `model` uses its own instead, which
   * lets one definition name another provider's model here.
   */
  model: string
  /**
   * Kind of agent, stored on the activity as its `agentType` (`researcher`). Default: the runner's
   * name (`ClaudeRunner`). A run's `agentType` option wins.
   */
  name?: string
  /** The system prompt: a string, or text blocks (to put `cache_control` on them). */
  system?: string | TextBlockParam[]
  /**
   * The system prompt under OpenAIRunner's name, for definitions shared with it. Used when
   * `system` is absent.
   */
  instructions?: string
  /**
   * Neutral tools (`defineTool`), validated with their zod schema (which must describe an object).
   * `report_status` is added by the runner (unless its `reportStatus` option is false, or the list
   * already has a tool of that name).
   */
  tools?: ReadonlyArray<AnyToolDefinition>
  /**
   * The most tokens one model call may generate (`max_tokens`, thinking included; the API
   * requires it). An answer cut at this limit fails the run with `ClaudeStopReasonError`. Above
   * about 21,000 a non-streamed run streams internally (the SDK refuses long non-streamed calls).
   * OpenAIRunner ignores it, so a shared definition can carry it.
   */
  maxTokens: number
  /**
   * Model settings: thinking, effort, tool choice... They win key by key over the runner's
   * `modelSettings`. Keys of other runners are ignored, except the ones both understand alike
   * (`toolChoice`, `parallelToolCalls`) and `extraBody`, which is sent as it is.
   */
  modelSettings?: ClaudeModelSettings
}

/**
 * What a run starts from: a user prompt, or the conversation so far as Anthropic message params
 * (`[{ role: 'user', content: [...] }, ...]`, with images, documents and earlier turns; pass
 * `result.output.messages` plus a new user message to continue a conversation). A fallback to
 * another framework's runner needs a string.
 */
export type ClaudeInput = string | MessageParam[]

/** What a run of `ClaudeRunner` returns as `result.output`. */
export interface ClaudeOutput {
  /** The last message of the run: the final answer (its `content`, `usage`, `stop_reason`...). */
  message: Message
  /**
   * The whole conversation: the input, every assistant message and every tool result, ready to
   * continue with a new user message. The wrap-up prompt of `maxTurnsRecovery` is in it as the user
   * message it was sent as.
   */
  messages: MessageParam[]
  /** Why the model stopped: `end_turn` or `stop_sequence` (every other reason fails the run). */
  stopReason: StopReason | null
}
