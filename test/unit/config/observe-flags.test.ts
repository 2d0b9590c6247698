import { expect } from 'chai';
import { envName, resolveNodeConfig } from '../../../lib/config/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

const base = { DYNAMO_ID: 'n1' };

describe('config: metrics, log level, TLS and token flags', () => {
  it('names the environment variables the Kubernetes manifests set', () => {
    expect(envName('metricsListen')).to.equal('DYNAMO_METRICS_LISTEN');
    expect(envName('tlsCert')).to.equal('DYNAMO_TLS_CERT');
    expect(envName('tlsKey')).to.equal('DYNAMO_TLS_KEY');
    expect(envName('tlsCa')).to.equal('DYNAMO_TLS_CA');
    expect(envName('authTokenFile')).to.equal('DYNAMO_AUTH_TOKEN_FILE');
  });

  it('is off by default and reads each from flags or environment', () => {
    const d = resolveNodeConfig({}, base);
    expect([d.metricsListen, d.tlsCert, d.tlsKey, d.tlsCa, d.authTokenFile]).to.deep.equal(['', '', '', '', '']);
    const c = resolveNodeConfig(
      { metricsListen: '0.0.0.0:9090', logLevel: 'debug' },
      { ...base, DYNAMO_TLS_CERT: '/etc/dynamo/tls/tls.crt', DYNAMO_TLS_KEY: '/etc/dynamo/tls/tls.key', DYNAMO_TLS_CA: '/etc/dynamo/tls/ca.crt', DYNAMO_AUTH_TOKEN_FILE: '/etc/dynamo/auth/token' },
    );
    expect(c).to.include({ metricsListen: '0.0.0.0:9090', logLevel: 'debug', tlsCert: '/etc/dynamo/tls/tls.crt', tlsCa: '/etc/dynamo/tls/ca.crt', authTokenFile: '/etc/dynamo/auth/token' });
  });

  it('refuses a malformed metrics address, an unknown level and partial TLS, naming the flag', () => {
    const fails = (flags: Record<string, string>, env: Record<string, string> = {}): string => {
      try {
        resolveNodeConfig(flags, { ...base, ...env });
      } catch (e) {
        expect(e).to.be.instanceOf(InvalidArgumentError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(fails({ metricsListen: '9090' })).to.match(/--metrics-listen \(DYNAMO_METRICS_LISTEN\): "9090" is not host:port/);
    expect(fails({ logLevel: 'verbose' })).to.match(/--log-level .*not one of error, warn, info, debug, silent/);
    expect(fails({ tlsCert: 'a.crt', tlsKey: 'a.key' })).to.match(/--tls-ca \(DYNAMO_TLS_CA\): TLS needs --tls-cert, --tls-key and --tls-ca together/);
    expect(fails({}, { DYNAMO_TLS_CA: 'ca.crt' })).to.match(/--tls-cert .*together/);
  });
});
