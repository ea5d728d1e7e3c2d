import { isShopError, shopErrorCodes } from '../errors.ts';
import type { AppResponse, ErrorBody } from './types.ts';

/**
 * Renders a thrown value as a JSON error response. Shop errors keep their code, message and
 * `details.field`; anything else becomes a 500 `SY_SHOP_INTERNAL` whose message does not leak
 * internals (the caller logs the original).
 *
 * @example
 * ```ts
 * errorResponse(shopError('SY_SHOP_ORDER_NOT_FOUND', 'no order with id "x"'));
 * // { status: 404, body: { error: { code: 'SY_SHOP_ORDER_NOT_FOUND', message: 'no order with id "x"' } } }
 * ```
 */
export function errorResponse(err: unknown): AppResponse {
  if (!isShopError(err)) {
    return { status: 500, body: errorBody('SY_SHOP_INTERNAL', 'internal error; see the service log') };
  }
  const field = err.details.field;
  const body = errorBody(err.code, err.message, typeof field === 'string' ? field : undefined);
  const headers = err.details.allow;
  return typeof headers === 'string'
    ? { status: shopErrorCodes[err.code].status, body, headers: { allow: headers } }
    : { status: shopErrorCodes[err.code].status, body };
}

/**
 * Builds the `{ error: { code, message, field? } }` body shared by every error response.
 *
 * @example
 * ```ts
 * errorBody('SY_SHOP_INVALID_REQUEST', 'customer: required', 'customer');
 * ```
 */
export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}
