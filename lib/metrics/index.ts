/**
 * metrics: the Prometheus edge of a node process. PrometheusMetrics
 * implements the Metrics port (lib/runtime/metrics.ts) with prom-client and
 * reads what the node already counts when scraped; startMetricsServer serves
 * it at GET /metrics (`--metrics-listen`). Only the node process imports
 * this module (dependency-cruiser keeps prom-client out of every other
 * module, the simulator and the SDK).
 */
export { PrometheusMetrics, LATENCY_BUCKETS_SECONDS, SIBLING_BUCKETS, type PrometheusMetricsOptions, type StorageSize } from './prometheus.ts';
export { startMetricsServer, METRICS_PATH, type MetricsServer, type MetricsSource } from './metrics-server.ts';
