/**
 * The few `pg` APIs the benchmarks use (the package ships no types and `@types/pg` is not a
 * dependency here).
 */
declare module 'pg' {
  interface ConnectionOptions {
    connectionString?: string
    max?: number
  }
  interface QueryResult<Row = Record<string, unknown>> {
    rows: Row[]
    rowCount: number | null
  }
  class Client {
    constructor(options?: ConnectionOptions)
    connect(): Promise<void>
    query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<Row>>
    end(): Promise<void>
  }
  class Pool {
    constructor(options?: ConnectionOptions)
    on(event: 'error', listener: (error: Error) => void): this
    query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<Row>>
    end(): Promise<void>
  }
  const pg: { Client: typeof Client; Pool: typeof Pool }
  export default pg
  export { Client, Pool }
}
