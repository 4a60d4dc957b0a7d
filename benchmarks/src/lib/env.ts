/**
 * Imported first by the entry point, before any SDK: settings that SDKs read when they load.
 * @openai/agents exports traces to OpenAI by default; a benchmark must neither send them nor pay for them.
 */
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1'
