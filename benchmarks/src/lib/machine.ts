import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'

export interface MachineInfo {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  os: string
  /** 1, 5 and 15 minute load averages when the run started: how busy the machine was. */
  loadAverage: number[]
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  }
}

/** The benchmarked packages, as installed for `benchmarks/`. */
const measuredPackages = [
  '@runner/core',
  '@runner/openai',
  '@runner/claude',
  '@runner/ai-sdk',
  '@runner/langchain',
  '@runner/postgres',
  '@runner/bullmq',
  '@runner/testkit',
  'openai',
  '@anthropic-ai/sdk',
  '@openai/agents',
  'ai',
  '@langchain/core',
  'langchain',
  '@langchain/langgraph',
  'bullmq',
  'ioredis',
  'pg',
  'zod',
]

const packageRoot = fileURLToPath(new URL('../../', import.meta.url))

export function packageVersions(): Record<string, string> {
  const versions: Record<string, string> = {}
  for (const name of measuredPackages) {
    try {
      const manifest = JSON.parse(
        readFileSync(`${packageRoot}node_modules/${name}/package.json`, 'utf8'),
      ) as {
        version?: string
      }
      versions[name] = manifest.version ?? 'unknown'
    } catch {
      versions[name] = 'not installed'
    }
  }
  return versions
}

/** The commit measured, with a mark when the working tree has changes (read-only git calls). */
export function commitInfo(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: packageRoot,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim()
    const commit = git('rev-parse', '--short', 'HEAD')
    return git('status', '--porcelain', '--untracked-files=no').length > 0
      ? `${commit} + uncommitted changes`
      : commit
  } catch {
    return 'unknown'
  }
}
