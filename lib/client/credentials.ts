/**
 * How the client authenticates: TLS channel credentials from PEM (`tls`)
 * and a bearer token added to every call's metadata by a channel
 * interceptor (`token`) — an interceptor rather than call credentials,
 * because grpc-js sends call credentials only over TLS and a token must
 * also work on a plaintext development cluster.
 */
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../runtime/index.ts';
import type { TlsOptions } from './options.ts';

const pem = (what: string, v: string | Uint8Array | undefined): Buffer | null => {
  if (v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new InvalidArgumentError(`tls.${what} must be PEM text or bytes`);
};

/** Channel credentials for `tls` (plaintext without it); throws InvalidArgumentError for malformed options. */
export function tlsCredentials(tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  if (typeof tls !== 'object' || tls === null || tls.ca === undefined) throw new InvalidArgumentError('tls needs at least ca (the PEM CA certificate the nodes chain to)');
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new InvalidArgumentError('tls.cert and tls.key go together');
  try {
    return grpc.credentials.createSsl(pem('ca', tls.ca), pem('key', tls.key), pem('cert', tls.cert));
  } catch (e) {
    throw new InvalidArgumentError(`tls: ${(e as Error).message}`, { cause: e });
  }
}

/** Channel options for a TLS server name override and the token interceptor. */
export function channelOptions(tls: TlsOptions | undefined, token: string | undefined): grpc.ClientOptions {
  const options: grpc.ClientOptions = {};
  if (tls?.serverName !== undefined) options['grpc.ssl_target_name_override'] = tls.serverName;
  if (token !== undefined) {
    if (typeof token !== 'string' || !/^[\x21-\x7e]{1,4096}$/.test(token)) {
      throw new InvalidArgumentError('token must be 1-4096 visible ASCII characters without spaces');
    }
    const value = `Bearer ${token}`;
    const interceptor: grpc.Interceptor = (options, nextCall) =>
      new grpc.InterceptingCall(nextCall(options), {
        start: (metadata, listener, next) => {
          metadata.set('authorization', value);
          next(metadata, listener);
        },
      });
    options.interceptors = [interceptor];
  }
  return options;
}
