// One contributor's analytics step: the granted columns in, one checked and clipped vector out.
// The module (if any) is checked before the data is opened, so a refused module never sees a row.
import { checkOutput } from '../../common/analytics/output.js';
import { analyticsColumns, parseAnalyticsJobSpec, type BuiltInComputation, type AnalyticsJobSpec } from '../../common/analytics/spec.js';
import { TroveError } from '../../common/errors.js';
import type { AnalyticsResult, WorkerTask } from '../../common/worker-protocol.js';
import type { DataSourceReader } from '../data-source.js';
import { computeBuiltIn, numericValues } from './built-ins.js';
import { checkModule } from './module-check.js';
import { runModule } from './sandbox.js';

type AnalyzeTask = Extract<WorkerTask, { kind: 'analyze' }>;

export async function analyze(task: AnalyzeTask, reader: DataSourceReader): Promise<AnalyticsResult> {
  const started = performance.now();
  const spec = parseAnalyticsJobSpec(task.spec);
  const c = spec.computation;
  let mod: WebAssembly.Module | undefined;
  if (c.kind === 'module') {
    if (!task.module) throw new TroveError('ANALYTICS_MODULE_REFUSED', "The job's program was not handed to the worker; nothing was run.");
    mod = await checkModule(task.module, c, task.approvedModules);
  }
  const data = await reader.open(task.data, analyticsColumns(spec));
  try {
    const total = data.rows.recordIds.length;
    const rows = Math.min(total, spec.maxRows);
    const raw = mod
      ? runModule(mod, data.rows.columns.map((col) => numericValues(col, rows)), rows)
      : computeBuiltIn(spec as AnalyticsJobSpec & { computation: BuiltInComputation }, data.rows.columns, total);
    return { output: checkOutput(spec, raw), rows, durationMs: performance.now() - started };
  } finally {
    data.release();
  }
}
