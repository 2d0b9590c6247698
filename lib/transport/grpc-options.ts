/**
 * gRPC settings shared by both ends of the node-to-node streams and the public
 * server, and the descriptors of the frame streams (Peer/Stream, KV/Session)
 * with pass-through serializers (frames are encoded and decoded by
 * peer-codec.ts / session-codec.ts, never by grpc-js or proto-loader).
 */
import type * as grpc from '@grpc/grpc-js';

/**
 * HTTP/2 receive window, per stream and per connection, on both ends of
 * every connection (clients by grpc-js's option, the server by
 * receive-window.ts). HTTP/2's default of 64 KiB lets a single large value
 * through per WINDOW_UPDATE round trip; 8 MiB keeps a peer stream's batches
 * and many large values in flight at once.
 */
export const FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

/** Large enough for any batch (a batch is bounded near 1 MiB plus one object of at most a few MiB). */
export const MESSAGE_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Channelz (grpc-js's per-call and per-socket bookkeeping: trackers and a
 * wall-clock read per message) is off everywhere: nothing here serves the
 * channelz service, and on the unary path it cost a visible share of every
 * call (the `_channelzHandler` wrapper in profiles of `npm run bench`).
 */
export const CHANNELZ_OFF = { 'grpc.enable_channelz': 0 } as const;

/** Channel options of a peer connection. */
export const PEER_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_send_message_length': MESSAGE_BYTES_MAX,
  'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
  // A silently dead peer (killed pod, cut cable) fails its stream within ~15 s instead of TCP's minutes.
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  // grpc-js's own reconnect backoff must not outlast ours, or a restarted peer stays
  // unreachable long after it is back (calls fail fast while the channel backs off).
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
  // Retries would buffer every frame of the stream until commit; the stream is never retried.
  'grpc.enable_retries': 0,
  // A wide receive window so reply frames are not throttled by WINDOW_UPDATE round trips.
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  ...CHANNELZ_OFF,
};

/** Options of the node's gRPC server (public API and peer streams). */
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_send_message_length': MESSAGE_BYTES_MAX,
  'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  ...CHANNELZ_OFF,
};

/** Full path of the Peer stream method (peer.proto). */
export const PEER_STREAM_PATH = '/dynamo.v1.Peer/Stream';

/** Frames pass through grpc-js untouched. */
export const passThrough = (b: Buffer): Buffer => b;

/** A bidi-streaming method whose messages are frames our own codecs encode and decode (grpc-js passes them through). */
export function frameMethod(path: string, originalName: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    originalName,
    requestStream: true,
    responseStream: true,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  };
}
