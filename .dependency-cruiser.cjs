// Layering rules (STYLE.md "Dependency direction"): pure modules never import
// I/O modules, siblings at one level never import each other, nothing imports
// cmd/, and there are no cycles. `npm test` runs this before the tests.
'use strict';

/** module -> lib modules it may import (besides itself). */
const allowed = {
  runtime: [],
  protocol: ['runtime'],
  vclock: ['runtime', 'protocol'],
  ring: ['runtime', 'protocol'],
  storage: ['runtime', 'protocol', 'vclock'],
  replication: ['runtime', 'protocol', 'vclock', 'ring', 'storage', 'transport'],
  transport: ['runtime', 'protocol'],
  config: ['runtime', 'protocol'],
  membership: ['runtime', 'protocol', 'ring'],
  // storage: types only (StoredObject, StoredRecord; the swc parser cannot tell
  // type-only imports apart, so test/unit/antientropy/layering.test.ts checks it).
  antientropy: ['runtime', 'protocol', 'vclock', 'ring', 'storage'],
  handoff: ['runtime', 'protocol', 'vclock', 'storage'],
  client: ['runtime', 'protocol', 'ring', 'transport', 'config'],
  // The Prometheus edge (prom-client, node:http); the Metrics port itself is in runtime.
  metrics: ['runtime', 'protocol'],
  node: ['runtime', 'protocol', 'vclock', 'ring', 'storage', 'replication', 'transport', 'config', 'membership', 'antientropy', 'handoff', 'metrics'],
  sim: ['runtime', 'protocol', 'vclock', 'ring', 'storage', 'replication', 'transport', 'config', 'node', 'membership', 'antientropy', 'handoff'],
};

const modules = Object.keys(allowed);
const forbidden = modules.map((m) => {
  const others = modules.filter((o) => o !== m && !allowed[m].includes(o));
  return {
    name: `layering-${m}`,
    comment: `lib/${m} may import only: ${allowed[m].join(', ') || 'nothing in lib/'}`,
    severity: 'error',
    from: { path: `^lib/${m}/` },
    to: { path: others.length ? `^lib/(${others.join('|')})/` : '^$' },
  };
});

forbidden.push(
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'Cycles make layering meaningless (grpc-js runs madge -c for the same reason).',
    from: {},
    to: { circular: true },
  },
  {
    name: 'module-surface',
    severity: 'error',
    comment: "Other modules import a lib module only through its index.ts.",
    from: { path: '^(lib|cmd)/([^/]+)/' , pathNot: '^lib/$2/'},
    to: { path: '^lib/[^/]+/.+', pathNot: ['^lib/[^/]+/index\\.ts$', '^lib/$2/'] },
  },
  {
    name: 'nothing-imports-cmd',
    severity: 'error',
    from: { path: '^lib/' },
    to: { path: '^cmd/' },
  },
  {
    name: 'prom-client-at-the-edge',
    severity: 'error',
    comment: 'Only lib/metrics loads prom-client: pure modules, the simulator and the SDK never do (they use the Metrics port).',
    from: { path: '^(lib|cmd)/', pathNot: '^lib/metrics/' },
    to: { path: 'node_modules/prom-client/' },
  },
  {
    name: 'pino-at-the-edge',
    severity: 'error',
    comment: 'Only the node process logger loads pino; everything else logs through the Logger port.',
    from: { path: '^(lib|cmd)/', pathNot: '^lib/node/pino-logger\\.ts$' },
    to: { path: 'node_modules/pino/' },
  },
  {
    name: 'sim-only-for-tests',
    severity: 'error',
    comment: 'Only the simulator entry point and tests may import lib/sim.',
    from: { path: '^lib/', pathNot: '^lib/sim/' },
    to: { path: '^lib/sim/' },
  },
);

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    // node_modules are leaves (not followed), kept so the edge rules above can see them.
  },
};
