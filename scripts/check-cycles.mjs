#!/usr/bin/env node
/**
 * Fails on an import cycle in src/ and workers/ (type-only imports included) that is not in the allow-list
 * .ci/known-cycles.txt, and on an allow-list entry that no longer occurs, so the list only ever shrinks.
 *
 * A cycle is written as its files joined by ' -> ', starting from the alphabetically first file (madge may
 * start it anywhere); one per line, '#' starts a comment. `npm run check:cycles` runs it; .ci/run too.
 */
import { readFileSync } from 'node:fs';
import madge from 'madge';

const ALLOW_LIST = '.ci/known-cycles.txt';

/** The same cycle found from another file reads the same: rotated to start at its smallest file. */
function canonical(cycle) {
  const start = cycle.indexOf([...cycle].sort()[0]);
  return [...cycle.slice(start), ...cycle.slice(0, start)].join(' -> ');
}

const graph = await madge(['src', 'workers'], { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
const { skipped } = graph.warnings();
if (skipped.length > 0) {
  console.error(
    `check-cycles: imports madge could not resolve (the check would be blind to them):\n  ${skipped.join('\n  ')}`,
  );
  process.exit(1);
}
const found = new Set(graph.circular().map(canonical));
const allowed = new Set(
  readFileSync(ALLOW_LIST, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== ''),
);
const unexpected = [...found].filter((c) => !allowed.has(c));
const stale = [...allowed].filter((c) => !found.has(c));
for (const c of unexpected) console.error(`import cycle: ${c}`);
for (const c of stale) console.error(`${ALLOW_LIST} lists a cycle that is gone; delete the line: ${c}`);
if (unexpected.length > 0 || stale.length > 0) process.exit(1);
console.log(
  `check-cycles: ${Object.keys(graph.obj()).length} modules, no import cycle${found.size > 0 ? ` besides the ${found.size} known in ${ALLOW_LIST}` : ''}`,
);
