export { bullmqEngine } from './bullmq-engine.js'
export { startWorker } from './start-worker.js'
export type { RegisterTasks } from './task-module.js'
export type {
  BullMQConnection,
  BullMQEngine,
  BullMQEngineOptions,
  BullMQKeepResults,
  BullMQRateLimit,
  BullMQWorkerSettings,
  RunnerWorker,
  StartWorkerOptions,
} from './types.js'
export { VERSION } from './version.js'
