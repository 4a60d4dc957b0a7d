import { createPool } from '@runner/core'
import { describe, expect, it } from 'vitest'
import { taskModuleEntry } from './task-module.js'

describe('taskModuleEntry', () => {
  const register = () => {}

  it('takes a default export function, or a named registerTasks', () => {
    expect(taskModuleEntry({ default: register }, 'tasks.js')).toEqual({ kind: 'register', register })
    expect(taskModuleEntry({ registerTasks: register, other: 1 }, 'tasks.js')).toEqual({
      kind: 'register',
      register,
    })
  })

  it('takes the register function of a CommonJS module', () => {
    expect(taskModuleEntry({ default: { default: register } }, 'tasks.cjs')).toEqual({
      kind: 'register',
      register,
    })
  })

  it('takes a pool, as the default export or a named `pool`', async () => {
    const pool = createPool()
    expect(taskModuleEntry({ default: pool }, 'tasks.js')).toEqual({ kind: 'pool', pool })
    expect(taskModuleEntry({ pool }, 'tasks.js')).toEqual({ kind: 'pool', pool })
    await pool.close()
  })

  it('explains what to export otherwise', () => {
    expect(() => taskModuleEntry({ tasks: [] }, './tasks.js')).toThrow(
      './tasks.js exports no tasks (found: tasks). Export default a function (pool) => { pool.task(...) }',
    )
  })
})
