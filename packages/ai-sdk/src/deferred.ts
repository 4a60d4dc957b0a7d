/** A promise with its resolve function; `settled` once resolved. */
export interface Deferred {
  readonly promise: Promise<void>
  readonly settled: boolean
  resolve(): void
}

export function deferred(): Deferred {
  let resolvePromise!: () => void
  const promise = new Promise<void>((resolve) => {
    resolvePromise = resolve
  })
  let settled = false
  return {
    promise,
    get settled() {
      return settled
    },
    resolve() {
      settled = true
      resolvePromise()
    },
  }
}
