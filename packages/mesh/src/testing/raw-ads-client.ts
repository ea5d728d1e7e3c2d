/**
 * A raw ADS client for tests (`@switchyard/mesh/testing`), built with proto-loader from Envoy's
 * `ads.proto`: tests drive the protocol by hand (send a NACK, reuse a stale nonce) and read
 * every response in order.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { envoyProtoIncludeDirs } from '../xds/protos.ts';

/** A DiscoveryResponse as proto-loader decodes it. */
export interface RawResponse {
  readonly version_info: string;
  readonly type_url: string;
  readonly nonce: string;
  readonly resources: readonly { type_url: string; value: Buffer }[];
}

/** One open ADS stream. */
export interface RawAdsStream {
  send(request: Record<string, unknown>): void;
  /** The next response, in arrival order; rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<RawResponse>;
  /** Responses received but not yet read. */
  readonly pending: number;
  /** The status the stream ended with (first `error`, or OK). */
  readonly status: Promise<grpc.StatusObject>;
  close(): void;
}

let Client: grpc.ServiceClientConstructor | undefined;

function adsClientConstructor(): grpc.ServiceClientConstructor {
  if (Client !== undefined) return Client;
  const definition = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [...envoyProtoIncludeDirs()],
  });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } };
  };
  Client = root.envoy.service.discovery.v3.AggregatedDiscoveryService;
  return Client;
}

/** Opens a StreamAggregatedResources stream to `address`, with `metadata` and `credentials` if given. */
export function openRawAdsStream(
  address: string,
  init: { metadata?: grpc.Metadata; credentials?: grpc.ChannelCredentials; options?: grpc.ChannelOptions } = {},
): RawAdsStream {
  const Ads = adsClientConstructor();
  const client = new Ads(address, init.credentials ?? grpc.credentials.createInsecure(), init.options ?? {});
  const call = (
    client.StreamAggregatedResources as (metadata?: grpc.Metadata) => grpc.ClientDuplexStream<unknown, RawResponse>
  )(init.metadata);
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  const queue: RawResponse[] = [];
  const waiters: ((r: RawResponse) => void)[] = [];
  call.on('data', (response: RawResponse) => {
    const waiter = waiters.shift();
    if (waiter) waiter(response);
    else queue.push(response);
  });
  call.on('error', () => {});
  return {
    send: (request) => call.write(request),
    next(timeoutMs = 5000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no ADS response within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (r: RawResponse) => {
          clearTimeout(timer);
          resolve(r);
        };
        waiters.push(waiter);
      });
    },
    get pending() {
      return queue.length;
    },
    status,
    close() {
      call.cancel();
      client.close();
    },
  };
}
