// One contributor's analytics step, as the main process runs it: the task goes to the worker with
// the module's own time limit, a worker that ran a researcher's module is replaced afterwards, and
// the output is checked again here (a worker runs untrusted code and may be subverted) before
// anything else may see it.
import { checkOutput } from '../../../common/analytics/output.js';
import { parseAnalyticsJobSpec } from '../../../common/analytics/spec.js';
import { TroveError } from '../../../common/errors.js';
import type { AnalyticsResult, TaskDataSource } from '../../../common/worker-protocol.js';
import type { WorkerSupervisor } from '../worker/supervisor.js';

export interface AnalyticsStepInput {
  spec: unknown;
  /** The module's bytes, for a module job. */
  module?: Uint8Array;
  /** Module hashes the person approved or trusts. */
  approvedModules: readonly string[];
  data: TaskDataSource;
}

export async function runAnalyticsStep(supervisor: WorkerSupervisor, input: AnalyticsStepInput, signal?: AbortSignal): Promise<AnalyticsResult> {
  const spec = parseAnalyticsJobSpec(input.spec);
  const c = spec.computation;
  const result = await supervisor.run(
    {
      kind: 'analyze',
      spec,
      ...(input.module ? { module: input.module } : {}),
      approvedModules: [...input.approvedModules],
      data: input.data,
    },
    { ...(c.kind === 'module' ? { timeLimitMs: c.timeLimitMs, retireWorker: true } : {}), ...(signal ? { signal } : {}) },
  );
  const analytics = result.kind === 'analyze' ? result.analytics : undefined;
  if (!analytics || !(analytics.output instanceof Float64Array) || typeof analytics.rows !== 'number') {
    throw new TroveError('ANALYTICS_OUTPUT_REFUSED', 'The worker answered the analytics task with something else; nothing was sent.');
  }
  return { ...analytics, output: checkOutput(spec, analytics.output) };
}
