import { type ErrorCodeSpec, errorFactory, isSwitchyardError, type SwitchyardError } from '@switchyard/core';

/** A row of the shop's code table: core's spec plus the HTTP status the services answer with. */
export interface ShopErrorCodeSpec extends ErrorCodeSpec {
  /** The HTTP status of a response carrying this code. */
  readonly status: number;
}

/**
 * The shop's error codes. Codes are public API: never renamed or reused.
 *
 * The shop services are HTTP services themselves, so unlike the library packages they map
 * each code to a status here, in one table.
 */
export const shopErrorCodes = {
  SY_SHOP_INVALID_REQUEST: {
    summary: 'The request failed validation; `field` names the offending field.',
    retryable: false,
    status: 400,
  },
  SY_SHOP_MALFORMED_JSON: { summary: 'The request body is not valid JSON.', retryable: false, status: 400 },
  SY_SHOP_INVALID_IDEMPOTENCY_KEY: {
    summary: 'The Idempotency-Key header is not 1..255 visible ASCII characters.',
    retryable: false,
    status: 400,
  },
  SY_SHOP_UNKNOWN_SKU: {
    summary: 'A reservation names a SKU the inventory does not hold.',
    retryable: false,
    status: 400,
  },
  SY_SHOP_PAYMENT_DECLINED: {
    summary: 'The payment was declined (it is recorded with status `declined`).',
    retryable: false,
    status: 402,
  },
  SY_SHOP_ROUTE_NOT_FOUND: { summary: 'No endpoint matches the request path.', retryable: false, status: 404 },
  SY_SHOP_ORDER_NOT_FOUND: { summary: 'No order has the given id.', retryable: false, status: 404 },
  SY_SHOP_ITEM_NOT_FOUND: { summary: 'No inventory item has the given SKU.', retryable: false, status: 404 },
  SY_SHOP_RESERVATION_NOT_FOUND: { summary: 'No reservation has the given id.', retryable: false, status: 404 },
  SY_SHOP_PAYMENT_NOT_FOUND: { summary: 'No payment has the given id.', retryable: false, status: 404 },
  SY_SHOP_METHOD_NOT_ALLOWED: {
    summary: 'The path exists but not for this method; `Allow` lists the methods.',
    retryable: false,
    status: 405,
  },
  SY_SHOP_INSUFFICIENT_STOCK: {
    summary: 'A reservation asks for more than the stock available; nothing was reserved.',
    retryable: false,
    status: 409,
  },
  SY_SHOP_ALREADY_REFUNDED: { summary: 'The payment has already been refunded.', retryable: false, status: 409 },
  SY_SHOP_NOT_REFUNDABLE: { summary: 'Only a captured payment can be refunded.', retryable: false, status: 409 },
  SY_SHOP_ORDER_CLOSED: {
    summary:
      'The order was compensated (its reservation released or its payments refunded), so nothing new is reserved or charged for it.',
    retryable: false,
    status: 409,
  },
  SY_SHOP_RESERVATION_COMMITTED: {
    summary: 'The reservation was committed (the order was approved); it can no longer be released.',
    retryable: false,
    status: 409,
  },
  SY_SHOP_BODY_TOO_LARGE: { summary: 'The request body is larger than the limit.', retryable: false, status: 413 },
  SY_SHOP_UNSUPPORTED_MEDIA_TYPE: {
    summary: 'The request body is not sent as application/json.',
    retryable: false,
    status: 415,
  },
  SY_SHOP_IDEMPOTENCY_MISMATCH: {
    summary: 'The Idempotency-Key was first used with a different method, path or body.',
    retryable: false,
    status: 422,
  },
  SY_SHOP_INTERNAL: { summary: 'An unexpected failure inside the service.', retryable: true, status: 500 },
  SY_SHOP_UPSTREAM_FAILED: {
    summary:
      'A service the saga called answered with an unexpected status or body; the step is retried, then compensated.',
    retryable: true,
    status: 502,
  },
} as const satisfies Record<string, ShopErrorCodeSpec>;

/** A code from {@link shopErrorCodes}. */
export type ShopErrorCode = keyof typeof shopErrorCodes;

/**
 * Creates an error with one of the shop's codes; put the offending field in `details.field`.
 *
 * @example
 * ```ts
 * throw shopError('SY_SHOP_ORDER_NOT_FOUND', 'no order with id "ord_1"');
 * ```
 */
export const shopError = errorFactory(shopErrorCodes);

/**
 * True when `value` is a {@link SwitchyardError} carrying one of the shop's codes.
 *
 * @example
 * ```ts
 * if (isShopError(err)) console.log(shopErrorCodes[err.code].status);
 * ```
 */
export function isShopError(value: unknown): value is SwitchyardError<ShopErrorCode> {
  return isSwitchyardError(value) && Object.hasOwn(shopErrorCodes, value.code);
}
