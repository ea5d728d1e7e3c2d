// A saga's history read as steps: how each step and its compensation went. Pure, so node
// tests import it as it is served.

/**
 * @typedef {{ seq: number, kind: string, at: number, step?: string, attempt?: number,
 *   error?: { code: string, message: string }, reason?: string }} TransitionLike
 * @typedef {'running' | 'done' | 'failed'} Phase
 * @typedef {{ step: string, forward: Phase, attempts: number, compensation: Phase | null,
 *   compensationAttempts: number, startedAt: number, endedAt: number | null,
 *   error: { code: string, message: string } | null }} StepSummary
 */

/**
 * Folds a saga's transitions (any order; sorted by `seq`) into one summary per step, in the
 * order the steps first started. A step's `forward` is its last forward outcome; its
 * `compensation` is null until a compensation starts.
 * @param {readonly TransitionLike[]} history
 * @returns {StepSummary[]}
 */
export function summariseSteps(history) {
  /** @type {Map<string, StepSummary>} */
  const steps = new Map();
  const sorted = [...history].sort((a, b) => a.seq - b.seq);
  for (const t of sorted) {
    if (t.step === undefined) continue;
    let s = steps.get(t.step);
    if (!s) {
      s = {
        step: t.step,
        forward: 'running',
        attempts: 0,
        compensation: null,
        compensationAttempts: 0,
        startedAt: t.at,
        endedAt: null,
        error: null,
      };
      steps.set(t.step, s);
    }
    switch (t.kind) {
      case 'step.started':
        s.forward = 'running';
        s.attempts = Math.max(s.attempts + 1, t.attempt ?? 0);
        break;
      case 'step.done':
        s.forward = 'done';
        s.endedAt = t.at;
        break;
      case 'step.failed':
        s.forward = 'failed';
        s.endedAt = t.at;
        s.error = t.error ?? null;
        break;
      case 'compensation.started':
        s.compensation = 'running';
        s.compensationAttempts = Math.max(s.compensationAttempts + 1, t.attempt ?? 0);
        break;
      case 'compensation.done':
        s.compensation = 'done';
        s.endedAt = t.at;
        break;
      case 'compensation.failed':
        s.compensation = 'failed';
        s.endedAt = t.at;
        s.error = t.error ?? s.error;
        break;
      default:
        break;
    }
  }
  return [...steps.values()];
}

/**
 * True for transitions of the backward path (compensating, compensations, compensated).
 * @param {string} kind
 * @returns {boolean}
 */
export function isCompensationKind(kind) {
  return kind.startsWith('compensation.') || kind === 'saga.compensating' || kind === 'saga.compensated';
}

/**
 * A short human label for a transition kind: `step.done` -> `step done`.
 * @param {string} kind
 * @returns {string}
 */
export function transitionLabel(kind) {
  return kind.replace('.', ' ');
}
