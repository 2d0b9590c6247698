/** Test certificates made with openssl (the same commands README gives operators). */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** `openssl ...` in `dir`; throws with openssl's own message on failure. */
function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA (`<name>-ca.crt/.key`) and one certificate it signs (`<name>.crt/.key`) for 127.0.0.1 and localhost. */
export function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`]);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name} node`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n');
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.crt`, '-CAkey', `${name}-ca.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}
