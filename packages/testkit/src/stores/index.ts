export {
  type ActivityStoreConformanceSuiteOptions,
  activityStoreConformanceSuite,
} from './activity-store-suite.js'
