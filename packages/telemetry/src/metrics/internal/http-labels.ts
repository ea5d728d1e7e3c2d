import { HTTP_METHODS, STATUS_CLASSES } from '../types.ts';

/** `method` label values by index: the known methods, then `other`. */
export const METHOD_LABELS: readonly string[] = [...HTTP_METHODS, 'other'];

/**
 * Index of `method` in {@link METHOD_LABELS}. A switch on the exact string (what Node hands
 * over, upper case) costs no allocation; anything else is upper-cased once and retried.
 */
export function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'CONNECT':
      return 7;
    case 'TRACE':
      return 8;
    default: {
      if (typeof method !== 'string') return 9;
      const upper = method.toUpperCase();
      return upper === method ? 9 : methodIndex(upper);
    }
  }
}

/** Index of `status`'s class in {@link STATUS_CLASSES}: 0 = `1xx` .. 4 = `5xx`, 5 = `other`. */
export function statusClassIndex(status: number): number {
  if (status >= 100 && status < 600) return ((status / 100) | 0) - 1;
  return 5;
}

/** Number of (method, status class) pairs per route. */
export const METHOD_STATUS_PAIRS = METHOD_LABELS.length * STATUS_CLASSES.length;
