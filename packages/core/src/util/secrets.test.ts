import { afterEach, describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import {
  knownSecrets,
  REDACTED,
  redactJsonText,
  redactSecrets,
  redactSecretsIn,
  registerSecret,
  registerSecretPattern,
  resetSecrets,
} from './secrets.js'

afterEach(() => {
  resetSecrets()
  delete process.env.RUNNER_TEST_API_KEY
})

describe('redactSecrets', () => {
  it('replaces a registered value wherever it appears, and its URL-encoded form', () => {
    expect(registerSecret('p@ss word/123')).toBe(true)
    expect(redactSecrets('login p@ss word/123 or p%40ss%20word%2F123 failed')).toBe(
      `login ${REDACTED} or ${REDACTED} failed`,
    )
  })

  it('ignores values too short to be told from ordinary words', () => {
    expect(registerSecret('abc')).toBe(false)
    expect(registerSecret(undefined)).toBe(false)
    expect(redactSecrets('abc is fine')).toBe('abc is fine')
  })

  it('redacts key shapes nobody registered: provider keys, bearer tokens, URL passwords, key=value', () => {
    expect(redactSecrets('401 Incorrect API key provided: sk-test-SECRET1234.')).toBe(
      `401 Incorrect API key provided: ${REDACTED}.`,
    )
    expect(redactSecrets('upstream 10.0.3.7:8443 rejected key sk-live-abc for org acme-internal')).toBe(
      `upstream 10.0.3.7:8443 rejected key ${REDACTED} for org acme-internal`,
    )
    expect(redactSecrets('sent Authorization: Bearer abcdefgh.ijkl')).toBe(
      `sent Authorization: Bearer ${REDACTED}`,
    )
    expect(redactSecrets('connect postgres://app:hunter22@db:5432/x failed')).toBe(
      `connect postgres://app:${REDACTED}@db:5432/x failed`,
    )
    expect(redactSecrets('retry with api_key=abcd1234efgh&x=1')).toBe(`retry with api_key=${REDACTED}&x=1`)
    expect(redactSecrets('AKIAABCDEFGHIJKLMNOP leaked')).toBe(`${REDACTED} leaked`)
  })

  it('leaves ordinary text alone and returns the same string', () => {
    const text = 'Searching the web for risk-free task-management tools (step 2/4), password required'
    expect(redactSecrets(text)).toBe(text)
  })

  it('reads secrets from environment variables named like keys', () => {
    process.env.RUNNER_TEST_API_KEY = 'env-value-0123456789'
    resetSecrets()
    expect(knownSecrets()).toContain('env-value-0123456789')
    expect(redactSecrets('got env-value-0123456789 back')).toBe(`got ${REDACTED} back`)
  })

  it('applies registered patterns, a `secret` group limiting the replacement', () => {
    registerSecretPattern(/customer-token:(?<secret>[0-9a-f]{6,})/)
    expect(redactSecrets('customer-token:deadbeef01 ok')).toBe(`customer-token:${REDACTED} ok`)
    registerSecretPattern(/ZZ-[0-9]{4}/i)
    expect(redactSecrets('zz-1234 and ZZ-9999')).toBe(`${REDACTED} and ${REDACTED}`)
  })

  it('refuses a pattern that matches an empty string, naming it', () => {
    expect(() => registerSecretPattern(/x*/)).toThrow(InvalidOptionsError)
    expect(() => registerSecretPattern(/x*/)).toThrow(/matches an empty string/)
  })
})

describe('redactJsonText and redactSecretsIn', () => {
  it('keep JSON valid, matching values as JSON escapes them', () => {
    registerSecret('quote"back\\slash-secret')
    const value = { message: 'key quote"back\\slash-secret and sk-abcdefghijk', nested: [{ apiKey: 'zz' }] }
    const text = redactJsonText(JSON.stringify(value))
    expect(JSON.parse(text)).toEqual({
      message: `key ${REDACTED} and ${REDACTED}`,
      nested: [{ apiKey: 'zz' }],
    })
    expect(redactSecretsIn(value)).toEqual(JSON.parse(text))
  })

  it('return the same value when nothing is secret', () => {
    const value = { a: ['plain', 1, null] }
    expect(redactSecretsIn(value)).toBe(value)
  })
})
