import { Readable } from 'node:stream';

/** One attempt's view of a caller's streamed request body; see {@link attemptBody}. */
export interface AttemptBody {
  /** The stream to hand to undici for this attempt. */
  readonly stream: Readable;
  /** True once a chunk was taken from the source: from then on the body cannot be sent again. */
  readonly touched: boolean;
}

/**
 * Wraps `source` for one attempt so that a failed attempt does not cost the body.
 *
 * undici destroys the body stream of a request that fails; were that the caller's stream, a
 * retry after a refused connection (the request never left) would have nothing to send. The
 * wrapper reads from `source` only when undici asks for data, which it does only once the
 * connection is open; destroying the wrapper detaches it and leaves `source` as it was. So a
 * wrapper that failed while `touched` is false has consumed nothing, and a new wrapper over the
 * same source can carry the whole body on another attempt.
 *
 * Back-pressure is preserved: a chunk is read from `source` only when the wrapper's buffer
 * has room, and nothing else buffers.
 *
 * @example
 * ```ts
 * const first = attemptBody(upload);
 * // ... undici fails with ECONNREFUSED before reading:
 * if (!first.touched) await send(attemptBody(upload).stream);
 * ```
 */
export function attemptBody(source: Readable): AttemptBody {
  let touched = false;
  let waiting = false;
  let attached = true;

  const detach = () => {
    if (!attached) return;
    attached = false;
    source.off('readable', onReadable);
    source.off('end', onEnd);
    source.off('error', onError);
  };
  const onReadable = () => {
    waiting = false;
    pump();
  };
  const onEnd = () => {
    detach();
    stream.push(null);
  };
  const onError = (err: Error) => {
    detach();
    stream.destroy(err);
  };
  const pump = () => {
    if (!attached) return;
    for (;;) {
      const chunk: unknown = source.read();
      if (chunk === null) {
        if (!waiting) {
          waiting = true;
          source.once('readable', onReadable);
        }
        return;
      }
      touched = true;
      if (!stream.push(chunk)) return;
    }
  };

  const stream = new Readable({
    read: pump,
    destroy(err, callback) {
      detach();
      callback(err);
    },
  });
  if (source.readableEnded) {
    // Read to its end already (by an earlier attempt that then failed): nothing is left.
    attached = false;
    stream.push(null);
  } else if (source.destroyed) {
    attached = false;
    stream.destroy(source.errored ?? new Error('the request body stream was destroyed before it was sent'));
  } else {
    source.on('end', onEnd);
    source.on('error', onError);
  }
  return {
    stream,
    get touched() {
      return touched;
    },
  };
}
