/** results.json → self-contained HTML report. */
export { SCHEMA_VERSION, resultsJsonSchema } from './schema.js';
export type * from './schema.js';
export { validateResults, ResultsValidationError } from './validate.js';
export { renderReport, expectedChartPoints } from './html.js';
export { writeReport, type WrittenReport } from './write.js';
export { checkReportInBrowser, CHROMIUM_PATH, CHROMIUM_ARGS, type BrowserCheck, type ChartCheck, type BrowserCheckOptions } from './browser.js';
export { exampleResults } from './example.js';
export { paperReference } from './paper.js';
export { collectMachineInfo } from './machine.js';
export { gapClosed, targets, resultRows } from './derive.js';
export { summariseSeeds, describeValues, type SeedsSummary, type SeedMetric, type SeedClaim, type SeedRun } from './seeds.js';
export { renderSeedsReport } from './seeds-html.js';
