export type { RawAdsStream, RawResponse } from './raw-ads-client.ts';
export { openRawAdsStream } from './raw-ads-client.ts';
