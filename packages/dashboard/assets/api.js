// The admin API over fetch: the bearer token from sessionStorage, errors in the API's
// `{ error: { code, message } }` shape turned into ApiError.

const tokenKey = 'switchyard.adminToken';

/** A refused or failed admin API call. `status` 0 means the server could not be reached. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** @returns {string | null} */
export function getToken() {
  try {
    return sessionStorage.getItem(tokenKey);
  } catch {
    return null;
  }
}

/** @param {string | null} token */
export function setToken(token) {
  try {
    if (token === null || token === '') sessionStorage.removeItem(tokenKey);
    else sessionStorage.setItem(tokenKey, token);
  } catch {
    // Storage disabled: the token lasts as long as the page does not reload.
  }
}

/** @param {Record<string, string>} [extra] @returns {Record<string, string>} */
export function authHeaders(extra = {}) {
  const token = getToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** @type {Set<() => void>} */
const unauthorizedListeners = new Set();

/**
 * Calls `listener` whenever a request is answered 401.
 * @param {() => void} listener
 * @returns {() => void} removes the listener
 */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/**
 * Tells the listeners that a request sent with `tokenUsed` was answered 401. A 401 to a token
 * that has since been replaced says nothing about the new one, so it is ignored.
 * @param {string | null} tokenUsed
 */
export function notifyUnauthorized(tokenUsed) {
  if (tokenUsed !== getToken()) return;
  for (const listener of unauthorizedListeners) listener();
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {AbortSignal} [signal]
 */
async function request(method, path, body, signal) {
  const tokenUsed = getToken();
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: authHeaders(
        body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' },
      ),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'NETWORK', `The admin API could not be reached (${String(err)}).`);
  }
  const text = await res.text();
  /** @type {unknown} */
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.status === 401) notifyUnauthorized(tokenUsed);
  if (!res.ok) {
    const error = json && typeof json === 'object' && 'error' in json ? /** @type {any} */ (json).error : null;
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${res.status}`;
    const message = typeof error?.message === 'string' ? error.message : `${method} ${path} answered ${res.status}`;
    throw new ApiError(res.status, code, message);
  }
  return json;
}

/**
 * GETs a JSON document of the admin API.
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @returns {Promise<any>}
 */
export function apiGet(path, signal) {
  return request('GET', path, undefined, signal);
}

/**
 * POSTs a JSON body to the admin API.
 * @param {string} path
 * @param {unknown} body
 * @returns {Promise<any>}
 */
export function apiPost(path, body) {
  return request('POST', path, body);
}
