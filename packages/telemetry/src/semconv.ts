/**
 * Attribute names for spans, from the OpenTelemetry semantic conventions (HTTP and
 * messaging, as of semantic-conventions 1.3x) plus Switchyard's own `switchyard.*` names.
 *
 * Constants rather than imports from `@opentelemetry/semantic-conventions`: the messaging
 * names are still "incubating" there, and other packages may not import `@opentelemetry/*`
 * at all, so they take these from `@switchyard/telemetry`. A test checks the stable ones
 * against the published package.
 */

/** HTTP attribute names (server and client spans). */
export const HttpAttributes = {
  /** `GET`, `POST`, ... (or `_OTHER`). */
  REQUEST_METHOD: 'http.request.method',
  /** The original method when `http.request.method` is `_OTHER`. */
  REQUEST_METHOD_ORIGINAL: 'http.request.method_original',
  /** The HTTP status code of the response (integer). */
  RESPONSE_STATUS_CODE: 'http.response.status_code',
  /** The matched route template, e.g. `/orders/:id` (server spans). */
  ROUTE: 'http.route',
  /** Resends before this client request: absent on the first attempt, 1 on the first retry. */
  REQUEST_RESEND_COUNT: 'http.request.resend_count',
  /** The request body size in bytes. */
  REQUEST_BODY_SIZE: 'http.request.body.size',
  /** The response body size in bytes. */
  RESPONSE_BODY_SIZE: 'http.response.body.size',
  /** The full request URL (client spans). */
  URL_FULL: 'url.full',
  /** The path of the request URL (server spans). */
  URL_PATH: 'url.path',
  /** The query string without `?` (server spans). */
  URL_QUERY: 'url.query',
  /** `http` or `https`. */
  URL_SCHEME: 'url.scheme',
  /** The host the client connects to / the server's logical host. */
  SERVER_ADDRESS: 'server.address',
  /** The port the client connects to / the server listens on. */
  SERVER_PORT: 'server.port',
  /** The peer's address as seen by the server. */
  CLIENT_ADDRESS: 'client.address',
  /** The peer's port as seen by the server. */
  CLIENT_PORT: 'client.port',
  /** The address actually connected to (client spans). */
  NETWORK_PEER_ADDRESS: 'network.peer.address',
  /** The port actually connected to (client spans). */
  NETWORK_PEER_PORT: 'network.peer.port',
  /** `1.1`, `2`. */
  NETWORK_PROTOCOL_VERSION: 'network.protocol.version',
  /** The `User-Agent` header. */
  USER_AGENT_ORIGINAL: 'user_agent.original',
} as const;

/** Messaging attribute names (producer and consumer spans). */
export const MessagingAttributes = {
  /** The messaging system: `nats`, `rabbitmq`, `kafka`, or `switchyard` for the in-memory bus. */
  SYSTEM: 'messaging.system',
  /** The destination (subject, queue, topic) name. */
  DESTINATION_NAME: 'messaging.destination.name',
  /** The low-cardinality destination template, when the name holds ids. */
  DESTINATION_TEMPLATE: 'messaging.destination.template',
  /** The operation name: `send`, `receive`, `process`, `settle`. */
  OPERATION_NAME: 'messaging.operation.name',
  /** The operation type: `create`, `send`, `receive`, `process`, `settle`. */
  OPERATION_TYPE: 'messaging.operation.type',
  /** The message id. */
  MESSAGE_ID: 'messaging.message.id',
  /** The conversation (correlation) id. */
  MESSAGE_CONVERSATION_ID: 'messaging.message.conversation_id',
  /** The message body size in bytes. */
  MESSAGE_BODY_SIZE: 'messaging.message.body.size',
  /** The consumer group / durable consumer name. */
  CONSUMER_GROUP_NAME: 'messaging.consumer.group.name',
  /** How many messages a batch operation handled. */
  BATCH_MESSAGE_COUNT: 'messaging.batch.message_count',
} as const;

/** Values of `messaging.operation.type`. */
export const MessagingOperationType = {
  Create: 'create',
  Send: 'send',
  Receive: 'receive',
  Process: 'process',
  Settle: 'settle',
} as const;

/** A value of {@link MessagingOperationType}. */
export type MessagingOperationType = (typeof MessagingOperationType)[keyof typeof MessagingOperationType];

/** General attribute names. */
export const CommonAttributes = {
  /** The error class: a Switchyard error code, an exception name or an HTTP status code. */
  ERROR_TYPE: 'error.type',
  /** Service name (resource attribute). */
  SERVICE_NAME: 'service.name',
  /** Service version (resource attribute). */
  SERVICE_VERSION: 'service.version',
  /** Service instance id (resource attribute). */
  SERVICE_INSTANCE_ID: 'service.instance.id',
  /** The peer service a client span calls, e.g. a registry service name. */
  PEER_SERVICE: 'peer.service',
} as const;

/** Switchyard's own attribute names (`switchyard.*`). */
export const SwitchyardAttributes = {
  /** The gateway route id the request matched. */
  ROUTE: 'switchyard.route',
  /** The upstream service name the gateway or client called. */
  UPSTREAM_SERVICE: 'switchyard.upstream.service',
  /** The upstream instance id that served this attempt. */
  UPSTREAM_INSTANCE: 'switchyard.upstream.instance',
  /** The attempt number of a resilient call (1 for the first). */
  ATTEMPT: 'switchyard.attempt',
  /** The circuit breaker state seen by a call: `closed`, `open`, `half-open`. */
  CIRCUIT_STATE: 'switchyard.circuit.state',
  /** The saga instance id. */
  SAGA_ID: 'switchyard.saga.id',
  /** The saga definition name. */
  SAGA_NAME: 'switchyard.saga.name',
  /** The saga step name. */
  SAGA_STEP: 'switchyard.saga.step',
  /** `execute` or `compensate`. */
  SAGA_STEP_PHASE: 'switchyard.saga.step.phase',
  /** The saga's status after this span: `running`, `completed`, `compensated`, `failed`. */
  SAGA_STATUS: 'switchyard.saga.status',
  /** The bus message type (event or command name). */
  MESSAGE_TYPE: 'switchyard.message.type',
} as const;
