/**
 * `@switchyard/telemetry/testing`: an OTLP/HTTP receiver for tests, decoding the protobuf
 * payloads the real exporter sends.
 *
 * @packageDocumentation
 */
export type { OtlpReceiver, ReceivedSpan, ReceivedSpanKind, ReceivedValue } from './otlp-receiver.ts';
export { decodeOtlpTraces, startOtlpReceiver } from './otlp-receiver.ts';
