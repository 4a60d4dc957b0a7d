import { InvalidOptionsError } from '@runner/core'
import { expect } from 'vitest'

/** Fails unless `value` is an ISO 8601 time in UTC with milliseconds; `what` names the field. */
export function expectIsoTime(value: string, what: string): void {
  const parsed = new Date(value)
  expect(
    Number.isNaN(parsed.getTime()) ? 'an invalid date' : parsed.toISOString(),
    `${what} must be ISO 8601 in UTC with milliseconds, like 2025-01-01T00:00:00.000Z; got ${JSON.stringify(value)}`,
  ).toBe(value)
}

/** The error `promise` rejects with; fails the test, naming `what`, if it resolves. */
export async function rejectionOf(promise: Promise<unknown>, what = 'the call'): Promise<unknown> {
  let value: unknown
  try {
    value = await promise
  } catch (error) {
    return error
  }
  throw new Error(`Expected ${what} to be refused, but it succeeded and returned ${preview(value)}.`)
}

/** An error class of `@runner/core`, recognised with `isInstance` across package copies. */
export interface ErrorClass {
  readonly name: string
  isInstance(value: unknown): boolean
}

/** Expects `promise` to reject with an `expected`, and returns the error. */
export async function expectRefused(
  promise: Promise<unknown>,
  expected: ErrorClass,
  what: string,
): Promise<unknown> {
  const error = await rejectionOf(promise, what)
  expect(expected.isInstance(error), `${what} must fail with ${expected.name}; ${errorText(error)}`).toBe(
    true,
  )
  return error
}

/** Expects an `InvalidOptionsError` with an issue on `field` (or on a field under it, like `metadata.tenant`). */
export async function expectInvalidOptions(
  promise: Promise<unknown>,
  field: string,
  what = `a call with an invalid ${field}`,
): Promise<InvalidOptionsError> {
  const error = await expectRefused(promise, InvalidOptionsError, what)
  const fields = (error as InvalidOptionsError).issues.map((issue) => issue.field)
  expect(
    fields.some((name) => name === field || name.startsWith(`${field}.`)),
    `the InvalidOptionsError of ${what} must have an issue on "${field}"; its issues are on ${JSON.stringify(fields)}`,
  ).toBe(true)
  return error as InvalidOptionsError
}

/** Fails if `value` has the key `key` at all (an absent field has no key, not `undefined` or `null`). */
export function expectNoKey(value: object, key: string, what: string): void {
  expect(
    Object.hasOwn(value, key),
    `${what} must have no "${key}" key (omit it; never undefined or null); got ${preview(value)}`,
  ).toBe(false)
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `got ${error.name}: ${error.message}` : `got ${preview(error)}`
}

export function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 300 ? `${text.slice(0, 300)}...` : text
}
