/** The prompts a runner gives models. Both are configurable through `RunnerOptions.prompts`. */
export interface RunnerPrompts {
  /** Tells the model to call `report_status` before each new step. Appended to the instructions by adapters that own them. */
  reportStatus: string
  /** Asks for a final answer without tools once the turn limit is reached (`maxTurnsRecovery`). */
  wrapUp: string
}

export const defaultPrompts: RunnerPrompts = {
  reportStatus:
    'Before each new step of your work, call the report_status tool with a short message for the user ' +
    '(at most 200 characters) saying what you are about to do, and your estimated progress as an integer ' +
    'percentage from 0 to 100. Do not mention the tool in your final answer.',
  wrapUp:
    'You have used all the steps available for this task. Do not call any more tools. Write your final ' +
    'answer now: summarise what you have found and done so far, and say clearly what is left unfinished.',
}
