// Reads a suite's JSON results and counts them the way cache-tests.fyi does (determineTestResult honours
// dependencies: a test passes only when the tests it depends on pass).
//   node summarize.mjs SUITE_DIR RESULTS_MODULE RESULTS_JSON INDEX_MODULE [EXTRA_MODULE...]
// RESULTS_MODULE and the modules are paths inside SUITE_DIR: the module exporting determineTestResult, the test
// index, and test modules the index leaves out but the run includes.
import fs from 'node:fs'
import path from 'node:path'

const [suiteArg, resultsModule, resultsFile, indexModule, ...extraModules] = process.argv.slice(2)
const suiteDir = path.resolve(suiteArg)
const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'))
const { default: tests } = await import(path.join(suiteDir, indexModule))
for (const extra of extraModules) {
  const { default: suite } = await import(path.join(suiteDir, extra))
  tests.push(suite)
}
const { determineTestResult } = await import(path.join(suiteDir, resultsModule))

const counts = { required: [0, 0], optimal: [0, 0] }
const failing = []
const passedIds = []
for (const suite of tests) {
  for (const test of suite.tests) {
    if (test.browser_only) continue
    const kind = test.kind === undefined ? 'required' : test.kind
    if (kind !== 'required' && kind !== 'optimal') continue
    const outcome = determineTestResult(tests, test.id, results)
    const passed = outcome[2] === '✅'
    counts[kind][1]++
    if (passed) { counts[kind][0]++; passedIds.push(test.id) }
    else failing.push({ kind, id: test.id, outcome: outcome[2], detail: (results[test.id] || [])[1] || '', name: test.name })
  }
}
const summary = {
  required: counts.required[0], requiredTotal: counts.required[1],
  optimal: counts.optimal[0], optimalTotal: counts.optimal[1],
  failing,
  passed: passedIds
}
console.log(JSON.stringify(summary, null, 2))
