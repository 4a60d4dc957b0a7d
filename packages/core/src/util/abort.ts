import { RunCanceledError } from '../errors/run-canceled-error.js'

/**
 * A signal that never aborts (nobody holds its controller): what a run that cannot be canceled
 * (no caller signal, no timeout, no stream reader) runs with. Nothing needs to listen to it.
 */
export const neverAborted: AbortSignal = new AbortController().signal

/** The error a signal was aborted with, as a `RunCanceledError` unless it already is a runner error. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new RunCanceledError()
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts, whichever
 * comes first. Work that ignores the signal is left to finish on its own, its result dropped.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {})
    return Promise.reject(abortReason(signal))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {})
      reject(abortReason(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal))
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortReason(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
