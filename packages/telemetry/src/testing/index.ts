/**
 * `@switchyard/telemetry/testing`: an OTLP/HTTP receiver for tests, decoding the protobuf
 * payloads the real exporter sends.
 *
 * @packageDocumentation
 */
export type { ReceivedSpan, ReceivedSpanKind, ReceivedValue } from '../otlp-receiver.ts';
export { decodeOtlpTraces } from '../otlp-receiver.ts';
export type { OtlpReceiver } from './otlp-receiver.ts';
export { startOtlpReceiver } from './otlp-receiver.ts';
