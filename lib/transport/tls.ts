/**
 * TLS for the node's one port, which serves clients and peers alike
 * (`--tls-cert`, `--tls-key`, `--tls-ca`):
 *
 * - The server presents the node certificate and *requests* a client
 *   certificate without requiring one: SDK clients that only trust the CA
 *   still connect, and a certificate that does not chain to the cluster CA
 *   does not fail the handshake but leaves the connection unauthorised.
 *   grpc-js's createSsl cannot express "request, don't require" (it requests
 *   only when it also rejects), so the server credentials come from
 *   grpc-js's certificate-provider credentials (`requestCert: true,
 *   rejectUnauthorized: false`); auth.ts then refuses Peer calls on a
 *   connection whose certificate did not verify (UNAUTHENTICATED, logged).
 * - Peer connections present the node certificate and trust only the
 *   cluster CA. They do not check host names: every certificate the cluster
 *   CA signs is a member's (the CA must be private to the cluster), and
 *   nodes dial each other by whatever address they advertise.
 *
 * Certificates are read once at start; rotating them is a rolling restart.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../runtime/index.ts';

/** PEM bytes of the node's certificate (chain), its private key and the cluster CA. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/**
 * Check that `m` holds a certificate, the private key that goes with it and
 * a CA certificate, and that the certificate chains to that CA; throws
 * InvalidArgumentError naming the flag at fault.
 */
export function checkTlsMaterial(m: TlsMaterial): TlsMaterial {
  const parse = (flag: string, pem: Buffer): X509Certificate => {
    try {
      return new X509Certificate(pem);
    } catch (e) {
      throw new InvalidArgumentError(`${flag}: not a PEM certificate (${(e as Error).message})`);
    }
  };
  const cert = parse('--tls-cert', m.cert);
  // A CA file may be a bundle (several PEM certificates, e.g. old and new CA during a rotation).
  const blocks = m.ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [m.ca.toString('utf8')];
  const cas = blocks.map((b) => parse('--tls-ca', Buffer.from(b)));
  let key;
  try {
    key = createPrivateKey(m.key);
  } catch (e) {
    throw new InvalidArgumentError(`--tls-key: not a PEM private key (${(e as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) throw new InvalidArgumentError('--tls-key is not the private key of --tls-cert');
  if (!cas.some((ca) => cert.checkIssued(ca) || cert.fingerprint256 === ca.fingerprint256)) {
    const names = cas.map((ca) => ca.subject.replace(/\n/g, ', ')).join('; ');
    throw new InvalidArgumentError(`--tls-cert (issued by ${cert.issuer.replace(/\n/g, ', ')}) was not issued by --tls-ca (${names})`);
  }
  return m;
}

/** A CertificateProvider handing grpc-js fixed material (after the listener is registered, as grpc-js expects). */
class FixedCertificateProvider implements grpc.experimental.CertificateProvider {
  readonly #m: TlsMaterial;
  constructor(m: TlsMaterial) {
    this.#m = m;
  }
  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    queueMicrotask(() => listener({ caCertificate: this.#m.ca }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    queueMicrotask(() => listener({ certificate: this.#m.cert, privateKey: this.#m.key }));
  }
  removeIdentityCertificateListener(): void {}
}

/** Server credentials: plaintext without TLS material; otherwise TLS requesting (not requiring) a client certificate. */
export function serverCredentials(tls: TlsMaterial | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  const provider = new FixedCertificateProvider(tls);
  // One provider serves as both the identity (cert + key) and the CA source; false: request, don't require.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** Credentials of peer connections: the node certificate, trusting only the cluster CA (no host name check). */
export function peerChannelCredentials(tls: TlsMaterial | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, { checkServerIdentity: () => undefined });
}
