/** Saga store rows for the batch statement; reading rows back is `sagaFromRow` from `@switchyard/saga`. */
import { type SagaWrite, sagaColumns, transitionColumns } from '@switchyard/saga';

/** One element of the batch statement's `$1`: JSON values travel as JSON text. */
export function batchItem(i: number, op: 'create' | 'update', write: SagaWrite, expected: number | null) {
  const columns = sagaColumns(write.saga);
  return {
    i,
    op,
    expected,
    ...columns,
    // A saga's name, input, meta and creation time never change: only a create sends them.
    input: op === 'create' ? columns.input : null,
    meta: op === 'create' ? columns.meta : null,
    transitions: write.transitions.map(transitionColumns),
  };
}
