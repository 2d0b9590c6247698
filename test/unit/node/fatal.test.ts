import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FATAL_EXIT_CODE, installFatalHandlers, type FatalProcess } from '../../../lib/node/index.ts';
import { CapturingLogger } from '../replication/helpers.ts';

class FakeProcess extends EventEmitter implements FatalProcess {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

describe('node/fatal: an unhandled error stops the process', () => {
  it('logs an unhandled rejection with its stack and context, then exits non-zero once', () => {
    const proc = new FakeProcess();
    const logger = new CapturingLogger();
    installFatalHandlers(proc, logger, { node: 'n1' });
    proc.emit('unhandledRejection', new TypeError('boom'));
    proc.emit('uncaughtException', new Error('second'));
    expect(proc.exits).to.deep.equal([FATAL_EXIT_CODE]);
    expect(logger.lines).to.have.length(1);
    const line = logger.lines[0]!;
    expect(line.level).to.equal('error');
    expect(line.msg).to.match(/^fatal: /);
    expect(line.fields).to.include({ kind: 'unhandled rejection', error: 'TypeError: boom', node: 'n1' });
    expect(String(line.fields!['stack'])).to.match(/TypeError: boom\n\s+at /);
  });

  it('an uncaught exception and a non-Error rejection are handled the same way', () => {
    const proc = new FakeProcess();
    const logger = new CapturingLogger();
    installFatalHandlers(proc, logger);
    proc.emit('uncaughtException', new RangeError('bad'));
    expect(proc.exits).to.deep.equal([FATAL_EXIT_CODE]);
    expect(logger.lines[0]!.fields).to.include({ kind: 'uncaught exception', error: 'RangeError: bad' });
    const other = new FakeProcess();
    const otherLog = new CapturingLogger();
    installFatalHandlers(other, otherLog);
    other.emit('unhandledRejection', 'a string');
    expect(otherLog.lines[0]!.fields).to.include({ error: 'a string', stack: undefined });
  });

  it('a real Node process with the handlers exits with the fatal code on an unhandled rejection', function () {
    this.timeout(20_000);
    const fatal = fileURLToPath(new URL('../../../lib/node/fatal.ts', import.meta.url));
    const script = `
      import { installFatalHandlers } from ${JSON.stringify(fatal)};
      const logger = { error: (msg, fields) => process.stderr.write(JSON.stringify({ msg, ...fields }) + '\\n') };
      installFatalHandlers(process, logger, { node: 'n9' });
      Promise.reject(new Error('nobody handles me'));
      setTimeout(() => process.exit(0), 5000);
    `;
    const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status, r.stderr).to.equal(FATAL_EXIT_CODE);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(line).to.include({ kind: 'unhandled rejection', error: 'Error: nobody handles me', node: 'n9' });
  });
});
