/** Shared by the paper job's tests. */

/** results.json without what differs from run to run by design: times, the date, the machine, notes. */
export function comparable(r: Record<string, unknown>): unknown {
  const drop = new Set(['createdAt', 'timings', 'machine', 'notes', 'resumedRuns']);
  return JSON.parse(JSON.stringify(r), (k, v) => (drop.has(k) || /seconds/i.test(k) ? undefined : v));
}
