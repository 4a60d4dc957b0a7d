import { randomUUID } from 'node:crypto'

/**
 * A random UUID (v4) as one flat string. `crypto.randomUUID()` returns a rope of 14 pieces
 * (about 450 bytes of heap); an id kept for a run's whole life (the activity's key, every record
 * of the run) is flattened to its 36 characters (about 70 bytes), which the garbage collector
 * also walks faster when thousands of runs are in flight.
 */
export function randomId(): string {
  const id = randomUUID()
  // Reading a character flattens the rope in place (V8): the pieces become garbage at once.
  id.charCodeAt(0)
  return id
}
