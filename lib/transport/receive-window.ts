/**
 * HTTP/2 receive windows of the node's gRPC server. grpc-js reads
 * `grpc-node.flow_control_window` on the client side only (grpc-node PR
 * #3058, open), so every connection the server accepts advertises HTTP/2's
 * default 65,535-byte window, per stream and per connection. A sender may
 * then have only 64 KiB unacknowledged on a connection: a 64 KiB write on
 * the peer stream, or a 64 KiB Put, waits a WINDOW_UPDATE round trip through
 * the receiver's event loop before the next one may start, so large values
 * go through one at a time however many are in flight. This widens both
 * windows on each session the server accepts, to what the clients of
 * grpc-options.ts advertise for theirs.
 */
import type * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** HTTP/2's default window: a window this size or smaller needs no widening. */
export const HTTP2_DEFAULT_WINDOW_BYTES = 65_535;

/** What grpc-js keeps per listening http2 server (a private field; see widenReceiveWindows). */
interface ServerEntry {
  sessions: Set<http2.ServerHttp2Session>;
}

/**
 * Raise one accepted session's windows: the connection's at once, each
 * stream's by a SETTINGS frame (which also widens the streams already open).
 * A session that closed meanwhile is left alone: it must not take the node down.
 */
export function widenSession(session: http2.Http2Session, bytes: number): boolean {
  if (session.destroyed || session.closed) return false;
  try {
    session.setLocalWindowSize(bytes);
    session.settings({ initialWindowSize: bytes });
    return true;
  } catch {
    return false;
  }
}

/**
 * Widen the receive windows of every session `server` has accepted and will
 * accept. Call it after bindAsync. Returns false when grpc-js no longer
 * keeps its http2 servers where this looks (the windows stay at 64 KiB, which
 * is slow for large values but correct); the caller logs it.
 */
export function widenReceiveWindows(server: grpc.Server, bytes: number): boolean {
  if (bytes <= HTTP2_DEFAULT_WINDOW_BYTES) return true;
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return false;
  for (const [http2Server, entry] of servers as Map<http2.Http2Server, ServerEntry>) {
    http2Server.on('session', (session: http2.ServerHttp2Session) => widenSession(session, bytes));
    // Sessions accepted between listen and this call.
    for (const session of entry.sessions) widenSession(session, bytes);
  }
  return true;
}
