/**
 * Packages that other work may not have finished yet (`@runner/ai-sdk`, `@runner/langchain`,
 * `@runner/postgres`, `@runner/bullmq`): loaded at run time, so that a case whose package is not
 * built, or does not export what the case needs yet, is skipped instead of failing the run, and is
 * picked up as soon as the package lands.
 */
export type Loaded<T> = { ok: true; module: T } | { ok: false; reason: string }

export async function loadOptional<T>(name: string, exports: readonly string[]): Promise<Loaded<T>> {
  let module: Record<string, unknown>
  try {
    // A specifier in a variable: the type checker must not require the package's types.
    const specifier: string = name
    module = (await import(specifier)) as Record<string, unknown>
  } catch (error) {
    const code = (error as { code?: string }).code
    const why = code === 'ERR_MODULE_NOT_FOUND' ? 'not built' : `failed to load: ${(error as Error).message}`
    return { ok: false, reason: `${name} not available (${why})` }
  }
  const missing = exports.filter((key) => module[key] === undefined)
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `${name} not available (its build does not export ${missing.join(', ')} yet)`,
    }
  }
  return { ok: true, module: module as T }
}
