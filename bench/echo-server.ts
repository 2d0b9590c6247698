/**
 * One-hop gRPC echo server: the transport ceiling. Same grpc-js, same
 * loopback, no storage and no replication; it answers each call with its
 * request bytes. Run as its own process by echo-system.ts; prints its port.
 */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;
const service: grpc.ServiceDefinition = {
  Echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const server = new grpc.Server();
server.addService(service, {
  Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`echo listening ${port}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
