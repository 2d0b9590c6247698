import { expect } from 'chai';
import { BackgroundAdmission, validateAdmissionConfig, type AdmissionConfig, type AdmissionTicket } from '../../../lib/antientropy/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

const CONFIG: AdmissionConfig = {
  bytesPerSecond: 1000,
  burstBytes: 500,
  concurrencyMax: { 'anti-entropy': 1, 'hint-replay': 2, 'partition-stream': 0 },
};

function ticket(a: BackgroundAdmission, kind: AdmissionTicket['kind'], nowMs = 0): AdmissionTicket {
  const d = a.begin(kind, nowMs);
  if (!d.granted) throw new Error(`${kind} refused`);
  return d.ticket;
}

describe('background admission', () => {
  it('limits tasks per kind and frees a slot when one ends', () => {
    const a = new BackgroundAdmission(CONFIG, 0);
    const t = ticket(a, 'anti-entropy');
    expect(a.begin('anti-entropy', 0)).to.deep.equal({ granted: false, reason: 'concurrency' });
    ticket(a, 'hint-replay');
    ticket(a, 'hint-replay');
    expect(a.begin('hint-replay', 0).granted).to.equal(false);
    expect(a.begin('partition-stream', 0).granted).to.equal(false);
    a.end(t);
    expect(a.begin('anti-entropy', 0).granted).to.equal(true);
    expect(() => a.end(t)).to.throw(/ended twice/);
    expect(a.stats(0).denials.concurrency).to.equal(3);
  });

  it('grants from a full bucket, then says exactly when the rate allows more', () => {
    const a = new BackgroundAdmission(CONFIG, 0);
    const t = ticket(a, 'anti-entropy');
    expect(a.spend(t, 400, 0)).to.deep.equal({ granted: true });
    expect(a.spend(t, 300, 0)).to.deep.equal({ granted: false, reason: 'rate', retryAtMs: 200 });
    expect(a.spend(t, 300, 199).granted).to.equal(false);
    expect(a.spend(t, 300, 200)).to.deep.equal({ granted: true });
    expect(a.stats(200).tokens).to.equal(0);
  });

  it('never holds more than the burst, however long it idles', () => {
    const a = new BackgroundAdmission(CONFIG, 0);
    const t = ticket(a, 'anti-entropy');
    expect(a.stats(1_000_000).tokens).to.equal(500);
    expect(a.spend(t, 500, 1_000_000).granted).to.equal(true);
    expect(a.spend(t, 1, 1_000_000).granted).to.equal(false);
  });

  it('grants a request larger than the burst once the bucket is full, and it is repaid before the next', () => {
    const a = new BackgroundAdmission(CONFIG, 0);
    const t = ticket(a, 'hint-replay');
    expect(a.spend(t, 2000, 0)).to.deep.equal({ granted: true });
    expect(a.stats(0).tokens).to.equal(-1500);
    expect(a.spend(t, 100, 0)).to.deep.equal({ granted: false, reason: 'rate', retryAtMs: 1600 });
  });

  it('charges bytes moved after the fact and says when the task may go on', () => {
    const a = new BackgroundAdmission(CONFIG, 0);
    const t = ticket(a, 'anti-entropy');
    expect(a.charge(t, 300, 0)).to.equal(0);
    expect(a.charge(t, 700, 0)).to.equal(500);
    expect(a.stats(0).bytesGranted['anti-entropy']).to.equal(1000);
  });

  it('shares one bucket between kinds', () => {
    const a = new BackgroundAdmission(CONFIG, 0);
    expect(a.spend(ticket(a, 'hint-replay'), 500, 0).granted).to.equal(true);
    expect(a.spend(ticket(a, 'anti-entropy'), 10, 0).granted).to.equal(false);
  });

  it('does not refill when the clock goes back', () => {
    const a = new BackgroundAdmission(CONFIG, 1000);
    const t = ticket(a, 'anti-entropy', 1000);
    a.spend(t, 500, 1000);
    expect(a.stats(500).tokens).to.equal(0);
    expect(a.stats(1100).tokens).to.equal(100);
  });

  it('validates its config, naming the field', () => {
    expect(() => validateAdmissionConfig({ ...CONFIG, bytesPerSecond: 0 })).to.throw(InvalidArgumentError, /bytesPerSecond/);
    expect(() => validateAdmissionConfig({ ...CONFIG, burstBytes: 1.5 })).to.throw(InvalidArgumentError, /burstBytes/);
    expect(() => validateAdmissionConfig({ ...CONFIG, concurrencyMax: { ...CONFIG.concurrencyMax, 'hint-replay': -1 } })).to.throw(
      InvalidArgumentError,
      /hint-replay/,
    );
  });
});
