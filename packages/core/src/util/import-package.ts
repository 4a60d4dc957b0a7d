/**
 * `name` imported by the caller (`importPackage`, written in the caller's file), by core, or from
 * the working directory's packages; the first that works. Rejects with the first failure.
 */
export async function importFromSomewhere(
  name: string,
  importPackage?: (name: string) => Promise<unknown>,
): Promise<unknown> {
  const attempts: Array<() => Promise<unknown>> = [
    ...(importPackage ? [() => importPackage(name)] : []),
    () => import(name),
    async () => {
      const { createRequire } = await import('node:module')
      const { pathToFileURL } = await import('node:url')
      const resolved = createRequire(`${process.cwd()}/package.json`).resolve(name)
      return import(pathToFileURL(resolved).href)
    },
  ]
  let first: unknown
  for (const attempt of attempts) {
    try {
      return await attempt()
    } catch (error) {
      first ??= error
    }
  }
  throw first
}
