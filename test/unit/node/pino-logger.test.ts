import { expect } from 'chai';
import { pinoLogger } from '../../../lib/node/pino-logger.ts';
import type { LogLevel } from '../../../lib/runtime/index.ts';

function capture(level: LogLevel, trace: string[] = []) {
  const lines: Record<string, unknown>[] = [];
  const logger = pinoLogger({ nodeId: 'n7', level, trace: new Set(trace), destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { logger, lines };
}

describe('node: pino logger', () => {
  it('writes one JSON object per line with level name, time, node id, module and fields', () => {
    const { logger, lines } = capture('info');
    logger.child('membership', { epoch: 3 }).info('member up', { member: 'n2' });
    expect(lines).to.have.length(1);
    const l = lines[0]!;
    expect(l).to.include({ level: 'info', node: 'n7', module: 'membership', epoch: 3, member: 'n2', msg: 'member up' });
    expect(new Date(l['time'] as string).getTime()).to.be.greaterThan(0);
  });

  it('filters by level: debug only at debug, nothing at silent', () => {
    const info = capture('info');
    info.logger.debug('hidden');
    info.logger.info('shown');
    info.logger.error('shown too');
    expect(info.lines.map((l) => l['msg'])).to.deep.equal(['shown', 'shown too']);
    const debug = capture('debug');
    debug.logger.child('replication').debug('details', { partition: 4 });
    expect(debug.lines[0]).to.include({ level: 'debug', module: 'replication', partition: 4 });
    const silent = capture('silent');
    silent.logger.error('nothing');
    expect(silent.lines).to.deep.equal([]);
  });

  it('writes trace lines only for modules named in DYNAMO_TRACE (or *), whatever the level', () => {
    const { logger, lines } = capture('warn', ['transport']);
    logger.child('transport').trace('frame', { bytes: 10 });
    logger.child('replication').trace('not traced');
    logger.child('replication').info('below warn');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 'trace', module: 'transport', bytes: 10 });
    const all = capture('error', ['*']);
    all.logger.child('anything').trace('yes');
    expect(all.lines).to.have.length(1);
  });

  it('writes an Error field as its message and keeps one module key per line', () => {
    const { logger, lines } = capture('info');
    const raw: string[] = [];
    const l2 = pinoLogger({ nodeId: 'n7', level: 'info', destination: { write: (s: string) => void raw.push(s) } });
    logger.child('a').child('b').warn('failed', { error: new TypeError('bad thing') });
    l2.child('a').child('b').warn('x');
    expect(lines[0]).to.include({ module: 'b', error: 'TypeError: bad thing' });
    expect(raw[0]!.match(/"module"/g)).to.have.length(1);
  });
});
