import { scriptedHarness } from '../scripted/scripted-harness.js'
import { runnerConformanceSuite } from './runner-suite.js'

runnerConformanceSuite({ name: 'ScriptedRunner', createHarness: scriptedHarness })
