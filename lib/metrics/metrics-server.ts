/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics on its own port
 * (`--metrics-listen`), apart from the gRPC port so a scrape never competes
 * with client traffic for HTTP/2 streams and needs no TLS client
 * certificate. Anything else is 404 (405 for another method on /metrics).
 */
import http from 'node:http';
import type { Logger } from '../runtime/index.ts';

/** What the server renders. */
export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The bound host:port (the real port when listening on port 0). */
  readonly address: string;
  close(): Promise<void>;
}

/** The path Prometheus scrapes. */
export const METRICS_PATH = '/metrics';

/** Bind `listen` (host:port) and serve `source` at /metrics; rejects if the address cannot be bound. */
export async function startMetricsServer(listen: string, source: MetricsSource, logger: Logger): Promise<MetricsServer> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(colon + 1));
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    source.render().then(
      (body) => {
        res.writeHead(200, { 'content-type': source.contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (e: unknown) => {
        logger.warn('rendering metrics failed', { error: e });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${(e as Error)?.message ?? String(e)}\n`);
      },
    );
  });
  // A scrape is one short request: keep-alive connections need not outlive the node's shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound !== null ? `${host.includes(':') ? `[${host}]` : host}:${bound.port}` : listen;
  logger.info('metrics endpoint listening', { address, path: METRICS_PATH });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
