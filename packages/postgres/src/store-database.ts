import type { QueryResult, QueryResultRow } from 'pg'
import type { SchemaNames } from './sql.js'

/** Runs one statement; `prepared` statements (fixed text) are named and planned once per connection. */
export type Query = <R extends QueryResultRow = QueryResultRow>(
  text: string,
  values: unknown[],
  prepared?: boolean,
) => Promise<QueryResult<R>>

/**
 * What the parts of a store built beside the activities (the job queue, the document table) use
 * of it: its tables, its limit, and its connections once it is open and its schema is ready.
 */
export interface StoreDatabase {
  readonly names: SchemaNames
  /** The store's `maxRecordBytes`. */
  readonly maxRecordBytes: number
  /** One statement on the store's pool. */
  query: Query
  /** `work` in one transaction on one connection; rolled back on any error. */
  transaction<T>(work: (query: Query) => Promise<T>): Promise<T>
}
