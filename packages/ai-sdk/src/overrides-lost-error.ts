import { InvalidOptionsError } from '@runner/core'

/**
 * A ToolLoopAgent whose `prepareCall` replaced what the runner gives each run (its `prepareStep`,
 * or its wrapped tools): the turn limit or the tool hooks would not hold, so the run is refused.
 */
export function overridesLostError(what: 'prepareStep' | 'tools'): InvalidOptionsError {
  const detail =
    what === 'prepareStep'
      ? 'returned settings without the prepareStep it was given, so the runner cannot count turns nor ask for a wrap-up'
      : 'returned tools other than the ones it was given, so the runner cannot apply onToolCallStart nor record their calls'
  return new InvalidOptionsError(
    [
      {
        field: 'agent.prepareCall',
        message: `${detail}. Spread the settings it receives (prepareCall: ({ options, ...settings }) => ({ ...settings, ... })) and change tools through the agent's settings or prepareStep's activeTools`,
      },
    ],
    { subject: 'agent' },
  )
}
