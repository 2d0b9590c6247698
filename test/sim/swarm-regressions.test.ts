/**
 * Swarm runs that once broke the store, kept as permanent scenarios with
 * their options frozen (a later change to the swarm's option drawing must not
 * quietly turn them into other runs). Each must finish with no violation.
 *
 * - 662: an acknowledged ONE write whose only copy was a fallback's hint was
 *   lost when the hint expired while its replica's disk was failing (hints
 *   older than the window are now handed to the key's other replicas, and
 *   dropped only when none took them within twice the window).
 * - 1387: the same loss, through a restored replica.
 * - 598, 1092: a delete's context named a version only hints held; the
 *   replica clamped it away as never issued, and the deleted value came back
 *   once the hint was delivered (the replica now asks every member for its
 *   hints before clamping, and refuses while one does not answer).
 * Seeds 1053 and 1303 (a restored node reusing a generation) are the scenario
 * in scenarios/membership.test.ts.

 * - 3325: a put with a fuzzed context claiming a counter of the coordinator's
 *   own actor far beyond any it issued was clamped to what the local copy
 *   held, so it superseded a THREE write that coordinator had just
 *   acknowledged and its client never saw; a later read missed that write
 *   (such a context is now refused with INVALID_ARGUMENT).
 * - 5916, 6933: a node crashed for good, then every other node restarted
 *   before any had declared it dead. None of them had its record, so no
 *   failure detector ever probed it, and the removal the harness asked for
 *   waited forever (simulation-failed: the ring never settled). A claimant
 *   now counts a ring node it has no record of as dead for a remove request
 *   once it has run for the longest suspicion timeout.
 * - 14818: a forwarded put with a fuzzed context claiming a version nobody
 *   had minted yet caught up from the other replicas; while it did, a
 *   concurrent ALL write minted exactly that version and reached the
 *   coordinator, whose second look then found the claim vouched for, and
 *   the fuzzed put replaced the acknowledged write unseen. A catch-up now
 *   vouches for a context only up to what the replicas held when asked
 *   (UpdateOptions.vouchable). Found once digest reads changed the timing.
 * - 30572: six nodes joined a 3-node cluster; three of them, not yet in touch
 *   with any member holding the ring, knew each other and so counted as the
 *   3 founders bootstrap-expect asks for, and the lowest founded a second
 *   ring with the same version number. Nodes that adopted it acknowledged
 *   writes as replicas under it and deleted them when the real ring reached
 *   them. bootstrapExpectCount founders now found a ring only if a seed is
 *   among them. Found once the swarm drew slow reads.
 * - 38991: a record rotted (value-log style: its reads fail their checksum)
 *   on a node that was stopped cleanly, and its key was in the partition's
 *   saved tombstone list. Loading that list read the key, the read's
 *   StorageCorruptionError ended the start, and the node never came back
 *   (simulation-failed). A damaged listed record now makes the start walk
 *   that partition instead, as for a list that does not load.
 * - 40999: a put with a forged context (a counter of n1 raised to 6) was
 *   delayed in the network past its client's deadline; meanwhile n1 minted
 *   n1:6 for another client's acknowledged put. When the forged put arrived,
 *   its claim was no longer beyond what n1 had issued, so clamping let it
 *   supersede that put unseen (no-lost-write). Contexts are now signed by the
 *   cluster (vclock/context-codec.ts) and the forgery is refused. Seeds frozen
 *   before that whose workload forged contexts run with insiderContexts, so
 *   their forgeries are still signed and still reach the replicas' clamping.
 * - 45704: the network delivered a replica write twice. The first copy's
 *   disk write was still landing when the duplicate arrived; the duplicate
 *   changed nothing against that pending write and was acknowledged at once,
 *   so the coordinator counted it. The first copy's disk write then failed
 *   (EIO): an ALL write was acknowledged with one replica holding it, and
 *   that replica lost its disk later. A merge that stores nothing now
 *   answers only once the pending write it matched has landed, and fails
 *   with it. The bug predates this stop (the seed fails the same way at
 *   bdb6d2d).
 * - 47008: N=1. A record set aside on n4 was replaced, through read repair,
 *   by an object with a clock and no values; that record then rotted so its
 *   reads failed their checksum while its summary stayed readable. Every
 *   read failed; its read repair merged the same object, which matched the
 *   summary (a summary without values passed for a whole object), so nothing
 *   was read or written, and the key stayed unreadable through the heal
 *   phase (final-read-failed). A merge whose result is the local copy now
 *   reads the record behind a summary, which sets a rotten one aside.
 */
import { expect } from 'chai';
import { runSimulation, type SimRunOptions } from '../../lib/sim/index.ts';

const FROZEN: Record<string, SimRunOptions> = {
  'swarm seed 662': {"seed": 662, "nodes": 5, "replicas": 2, "partitionCount": 8, "clients": 5, "opsPerClient": 27, "keys": 5, "mix": {"get": 2, "blindPut": 4, "rmwPut": 4, "delete": 1, "foreignContext": 0, "fuzzedContext": 0}, "levels": ["ONE", "TWO", "QUORUM"], "thinkMsMax": 76, "requestTimeoutMs": 252, "faults": {"crash": false, "powerLoss": false, "diskLoss": false, "restore": false, "corrupt": false, "writeErrors": true, "diskFull": false, "partition": false, "oneWay": true, "slow": false, "join": false, "decommission": false, "remove": false, "restart": false, "lossRate": 0.04742788592120633, "duplicationRate": 0, "spikeRate": 0.04360806893091649, "intervalMs": 507, "downMax": 1, "backupAgeMsMax": 599}, "disk": {"writeLatencyMsMin": 0, "writeLatencyMsMax": 1, "writebackMs": 644, "syncWrites": false}, "settleMs": 6265, "antiEntropy": {"exchangeIntervalMs": 500, "tombstoneGraceMs": 599, "exchangeTimeoutMs": 1000, "tombstoneSettleMs": 1000, "tombstoneHoldingMaxAgeMs": 10000, "purgedMemoMs": 30000}},
  'swarm seed 1387': {"seed": 1387, "nodes": 3, "replicas": 2, "partitionCount": 8, "clients": 2, "opsPerClient": 45, "keys": 9, "mix": {"get": 2, "blindPut": 0, "rmwPut": 5, "delete": 2, "foreignContext": 0, "fuzzedContext": 0}, "levels": ["ONE", "TWO", "ALL"], "thinkMsMax": 38, "requestTimeoutMs": 860, "faults": {"crash": true, "powerLoss": false, "diskLoss": true, "restore": true, "corrupt": false, "writeErrors": true, "diskFull": false, "partition": true, "oneWay": true, "slow": false, "join": true, "decommission": false, "remove": false, "restart": false, "lossRate": 0.003506826225202531, "duplicationRate": 0, "spikeRate": 0, "intervalMs": 138, "downMax": 1, "backupAgeMsMax": 942}, "disk": {"writeLatencyMsMin": 0, "writeLatencyMsMax": 5, "writebackMs": 1905, "syncWrites": false}, "settleMs": 7245, "antiEntropy": {"exchangeIntervalMs": 500, "tombstoneGraceMs": 942, "exchangeTimeoutMs": 1000, "tombstoneSettleMs": 1000, "tombstoneHoldingMaxAgeMs": 10000, "purgedMemoMs": 30000}},
  'swarm seed 598': {"seed": 598, "nodes": 4, "replicas": 1, "partitionCount": 16, "clients": 5, "opsPerClient": 36, "keys": 1, "mix": {"get": 2, "blindPut": 1, "rmwPut": 2, "delete": 1, "foreignContext": 0.7332532645668834, "fuzzedContext": 0}, "levels": ["ONE"], "thinkMsMax": 61, "requestTimeoutMs": 937, "faults": {"crash": true, "powerLoss": false, "diskLoss": true, "restore": false, "corrupt": false, "writeErrors": false, "diskFull": true, "partition": false, "oneWay": false, "slow": true, "join": false, "decommission": false, "remove": false, "restart": false, "lossRate": 0, "duplicationRate": 0, "spikeRate": 0.003724543529096991, "intervalMs": 218, "downMax": 3, "backupAgeMsMax": 2639}, "disk": {"writeLatencyMsMin": 0, "writeLatencyMsMax": 6, "writebackMs": 801, "syncWrites": false}, "settleMs": 4863, "antiEntropy": {"exchangeIntervalMs": 50, "tombstoneGraceMs": 2639, "exchangeTimeoutMs": 1000, "tombstoneSettleMs": 1000, "tombstoneHoldingMaxAgeMs": 10000, "purgedMemoMs": 30000}},
  'swarm seed 1092': {"seed": 1092, "nodes": 4, "replicas": 2, "partitionCount": 8, "clients": 7, "opsPerClient": 31, "keys": 10, "mix": {"get": 1, "blindPut": 2, "rmwPut": 6, "delete": 1, "foreignContext": 0, "fuzzedContext": 0.8384923076257109}, "levels": ["ALL"], "thinkMsMax": 42, "requestTimeoutMs": 279, "faults": {"crash": false, "powerLoss": false, "diskLoss": false, "restore": false, "corrupt": false, "writeErrors": true, "diskFull": false, "partition": true, "oneWay": false, "slow": true, "join": false, "decommission": true, "remove": false, "restart": false, "lossRate": 0.03906961533939466, "duplicationRate": 0.019446884258650245, "spikeRate": 0, "intervalMs": 284, "downMax": 3, "backupAgeMsMax": 1847}, "disk": {"writeLatencyMsMin": 0, "writeLatencyMsMax": 0, "writebackMs": 2030, "syncWrites": true}, "settleMs": 4831, "antiEntropy": {"exchangeIntervalMs": 100, "tombstoneGraceMs": 1847, "exchangeTimeoutMs": 1000, "tombstoneSettleMs": 1000, "tombstoneHoldingMaxAgeMs": 10000, "purgedMemoMs": 30000}, "insiderContexts": true},
  'swarm seed 3325': {"seed": 3325, "nodes": 4, "replicas": 3, "partitionCount": 16, "clients": 7, "opsPerClient": 39, "keys": 6, "mix": {"get": 4, "blindPut": 2, "rmwPut": 6, "delete": 2, "foreignContext": 0, "fuzzedContext": 1.2010988949798047}, "levels": ["ONE", "THREE", "QUORUM"], "thinkMsMax": 16, "requestTimeoutMs": 839, "faults": {"crash": false, "powerLoss": false, "diskLoss": true, "restore": true, "corrupt": false, "writeErrors": false, "diskFull": false, "partition": true, "oneWay": false, "slow": false, "join": true, "decommission": false, "remove": true, "restart": false, "lossRate": 0, "duplicationRate": 0, "spikeRate": 0, "intervalMs": 476, "downMax": 2, "backupAgeMsMax": Number.POSITIVE_INFINITY}, "disk": {"writeLatencyMsMin": 0, "writeLatencyMsMax": 0, "writebackMs": 841, "syncWrites": false}, "settleMs": 3000, "antiEntropy": {"exchangeIntervalMs": 50}, "insiderContexts": true},
  'swarm seed 5916': {"seed": 5916, "nodes": 3, "replicas": 1, "partitionCount": 8, "clients": 7, "opsPerClient": 36, "keys": 5, "mix": {"get": 3, "blindPut": 2, "rmwPut": 5, "delete": 0, "foreignContext": 0.7750902415718883, "fuzzedContext": 1.2146874133497476}, "levels": ["QUORUM"], "thinkMsMax": 24, "requestTimeoutMs": 575, "faults": {"crash": true, "powerLoss": false, "diskLoss": false, "restore": false, "corrupt": false, "writeErrors": false, "diskFull": true, "partition": false, "oneWay": true, "slow": true, "join": false, "decommission": true, "remove": true, "restart": false, "lossRate": 0.0007682627765461802, "duplicationRate": 0.0254280005232431, "spikeRate": 0, "intervalMs": 125, "downMax": 2, "backupAgeMsMax": Number.POSITIVE_INFINITY}, "disk": {"writeLatencyMsMin": 0, "writeLatencyMsMax": 5, "writebackMs": 4824, "syncWrites": false}, "settleMs": 3000, "antiEntropy": false, "insiderContexts": true},
  'swarm seed 14818': {"seed":14818,"nodes":6,"replicas":3,"partitionCount":64,"clients":7,"opsPerClient":26,"keys":6,"mix":{"get":5,"blindPut":0,"rmwPut":5,"delete":0,"foreignContext":0,"fuzzedContext":0.9545118671841919},"levels":["ONE","THREE","QUORUM","ALL"],"thinkMsMax":53,"requestTimeoutMs":200,"faults":{"crash":true,"powerLoss":false,"diskLoss":true,"restore":true,"corrupt":true,"writeErrors":false,"diskFull":false,"partition":true,"oneWay":false,"slow":false,"join":false,"decommission":true,"remove":true, "restart": false,"lossRate":0.01971456257160753,"duplicationRate":0,"spikeRate":0,"intervalMs":274,"downMax":2,"backupAgeMsMax":2095},"disk":{"writeLatencyMsMin":0,"writeLatencyMsMax":3,"writebackMs":4637,"syncWrites":false},"settleMs":4967,"antiEntropy":{"exchangeIntervalMs":250,"exchangeIntervalBusyMs":250,"exchangeBusyRequestsPerSecond":1,"tombstoneGraceMs":2095,"exchangeTimeoutMs":1000,"tombstoneSettleMs":1000,"tombstoneHoldingMaxAgeMs":10000,"purgedMemoMs":30000},"handoff":{"enabled":false}, "insiderContexts": true},
  'swarm seed 6933': {"seed": 6933, "nodes": 5, "replicas": 3, "partitionCount": 16, "clients": 7, "opsPerClient": 41, "keys": 2, "mix": {"get": 5, "blindPut": 4, "rmwPut": 6, "delete": 2, "foreignContext": 0.254891665186733, "fuzzedContext": 0}, "levels": ["ONE", "THREE", "QUORUM"], "thinkMsMax": 77, "requestTimeoutMs": 590, "faults": {"crash": true, "powerLoss": true, "diskLoss": false, "restore": true, "corrupt": false, "writeErrors": false, "diskFull": true, "partition": true, "oneWay": true, "slow": false, "join": false, "decommission": true, "remove": true, "restart": false, "lossRate": 0, "duplicationRate": 0, "spikeRate": 0.017047935049049556, "intervalMs": 85, "downMax": 2, "backupAgeMsMax": Number.POSITIVE_INFINITY}, "disk": {"writeLatencyMsMin": 0, "writeLatencyMsMax": 6, "writebackMs": 452, "syncWrites": false}, "settleMs": 3000, "antiEntropy": false},
  'swarm seed 30572': {"seed":30572,"nodes":3,"replicas":3,"partitionCount":32,"clients":7,"opsPerClient":46,"keys":1,"mix":{"get":1,"blindPut":20,"rmwPut":0.2,"delete":0,"foreignContext":0.2,"fuzzedContext":0.2},"levels":["ONE","QUORUM","ALL"],"thinkMsMax":60,"requestTimeoutMs":683,"faults":{"crash":false,"restart":false,"powerLoss":false,"diskLoss":false,"restore":false,"corrupt":false,"writeErrors":false,"diskFull":false,"partition":false,"oneWay":false,"slow":true,"join":true,"decommission":false,"remove":false,"lossRate":0,"duplicationRate":0.02826595164369792,"spikeRate":0,"intervalMs":116,"downMax":1,"backupAgeMsMax":Number.POSITIVE_INFINITY},"disk":{"writeLatencyMsMin":0,"writeLatencyMsMax":6,"writebackMs":4480,"syncWrites":false,"readLatencyMs":1},"settleMs":3000,"antiEntropy":{"exchangeIntervalMs":100,"exchangeIntervalBusyMs":200,"exchangeBusyRequestsPerSecond":1}, "insiderContexts": true},
  'swarm seed 40999': {"seed":40999,"nodes":4,"replicas":3,"partitionCount":8,"clients":5,"opsPerClient":31,"keys":6,"mix":{"get":2,"blindPut":0,"rmwPut":2,"delete":2,"foreignContext":0,"fuzzedContext":1.5127882173284888},"levels":["ONE","TWO","THREE","QUORUM"],"thinkMsMax":19,"requestTimeoutMs":200,"faults":{"crash":true,"restart":false,"powerLoss":true,"diskLoss":true,"restore":false,"corrupt":true,"writeErrors":false,"diskFull":false,"partition":false,"oneWay":true,"slow":true,"join":true,"decommission":false,"remove":true,"lossRate":0.008076442964375019,"duplicationRate":0,"spikeRate":0.020132566045504063,"intervalMs":97,"downMax":3,"backupAgeMsMax":Number.POSITIVE_INFINITY},"disk":{"writeLatencyMsMin":0,"writeLatencyMsMax":6,"writebackMs":718,"syncWrites":false,"readLatencyMs":0},"settleMs":3000,"antiEntropy":{"exchangeIntervalMs":250,"exchangeIntervalBusyMs":500,"exchangeBusyRequestsPerSecond":1}},
  'swarm seed 45704': {"seed":45704,"nodes":4,"replicas":2,"partitionCount":16,"clients":8,"opsPerClient":41,"keys":5,"mix":{"get":6,"blindPut":1,"rmwPut":2,"delete":1,"foreignContext":0,"fuzzedContext":0},"levels":["ONE","TWO","ALL"],"thinkMsMax":46,"requestTimeoutMs":547,"faults":{"crash":true,"restart":false,"powerLoss":false,"diskLoss":true,"restore":false,"corrupt":false,"writeErrors":true,"diskFull":false,"partition":true,"oneWay":false,"slow":true,"join":false,"decommission":true,"remove":false,"lossRate":0.02317628449527547,"duplicationRate":0.006001278839539737,"spikeRate":0,"intervalMs":98,"downMax":1,"backupAgeMsMax":2070},"disk":{"writeLatencyMsMin":0,"writeLatencyMsMax":4,"writebackMs":2712,"syncWrites":false,"readLatencyMs":3},"settleMs":6701,"antiEntropy":{"exchangeIntervalMs":250,"exchangeIntervalBusyMs":500,"exchangeBusyRequestsPerSecond":1,"tombstoneGraceMs":2070,"exchangeTimeoutMs":1000,"tombstoneSettleMs":1000,"tombstoneHoldingMaxAgeMs":10000,"purgedMemoMs":30000},"handoff":{"windowMs":3600000}},
  'swarm seed 47008': {"seed":47008,"nodes":7,"replicas":1,"partitionCount":32,"clients":3,"opsPerClient":43,"keys":8,"mix":{"get":6,"blindPut":0,"rmwPut":2,"delete":1,"foreignContext":0.7223365879617631,"fuzzedContext":1.109027798101306},"levels":["ONE","QUORUM","ALL"],"thinkMsMax":8,"requestTimeoutMs":556,"faults":{"crash":false,"restart":true,"powerLoss":false,"diskLoss":true,"restore":false,"corrupt":true,"writeErrors":true,"diskFull":false,"partition":true,"oneWay":true,"slow":false,"join":true,"decommission":false,"remove":true,"lossRate":0,"duplicationRate":0,"spikeRate":0,"intervalMs":249,"downMax":1,"backupAgeMsMax":Number.POSITIVE_INFINITY},"disk":{"writeLatencyMsMin":0,"writeLatencyMsMax":4,"writebackMs":4111,"syncWrites":false,"readLatencyMs":3},"settleMs":3000,"antiEntropy":{"exchangeIntervalMs":100,"exchangeIntervalBusyMs":1000,"exchangeBusyRequestsPerSecond":20}},
  'swarm seed 38991': {"seed":38991,"nodes":4,"replicas":3,"partitionCount":64,"clients":5,"opsPerClient":33,"keys":5,"mix":{"get":2,"blindPut":2,"rmwPut":1,"delete":1,"foreignContext":0.9287473224103451,"fuzzedContext":0},"levels":["ONE","TWO","THREE","ALL"],"thinkMsMax":70,"requestTimeoutMs":843,"faults":{"crash":false,"restart":true,"powerLoss":false,"diskLoss":true,"restore":false,"corrupt":true,"writeErrors":true,"diskFull":false,"partition":true,"oneWay":true,"slow":true,"join":true,"decommission":true,"remove":false,"lossRate":0,"duplicationRate":0,"spikeRate":0.014269022783264518,"intervalMs":95,"downMax":2,"backupAgeMsMax":1639},"disk":{"writeLatencyMsMin":0,"writeLatencyMsMax":3,"writebackMs":2477,"syncWrites":false,"readLatencyMs":0},"settleMs":5886,"antiEntropy":{"exchangeIntervalMs":250,"exchangeIntervalBusyMs":500,"exchangeBusyRequestsPerSecond":100,"tombstoneGraceMs":1639,"exchangeTimeoutMs":1000,"tombstoneSettleMs":1000,"tombstoneHoldingMaxAgeMs":10000,"purgedMemoMs":30000},"handoff":{"windowMs":3600000}},
};

describe('sim: swarm regressions (frozen options)', () => {
  for (const [name, options] of Object.entries(FROZEN)) {
    it(`${name} finishes with every acknowledged write in place`, async function () {
      this.timeout(120_000);
      const report = await runSimulation(options);
      expect(report.violations.map((v) => `${v.rule} ${v.key}: ${v.message}`)).to.deep.equal([]);
      expect(report.acknowledgedWrites).to.be.greaterThan(0);
    });
  }
});
