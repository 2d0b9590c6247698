/**
 * The CLI's exit codes: one table, the same in text and `--json` modes,
 * printed by `dynamo --help` and documented in README ("Exit codes"), so a
 * script can branch on them the way it would on nodetool's or etcdctl's.
 * Modelled on grep: 1 is the expected negative answer, 2 a usage error.
 */
import { DynamoError } from '../../lib/runtime/index.ts';

/** Exit code per outcome. */
export const EXIT = {
  ok: 0,
  notFound: 1,
  usage: 2,
  unavailable: 3,
  timeout: 4,
  failed: 5,
  unauthenticated: 6,
} as const;

/** Each exit code and when it is used (help text and README). */
export const EXIT_CODES: readonly { readonly code: number; readonly meaning: string }[] = [
  { code: EXIT.ok, meaning: 'success' },
  { code: EXIT.notFound, meaning: '`get`: the key has no live value (missing or deleted)' },
  { code: EXIT.usage, meaning: 'usage: unknown command or flag, malformed flag value (e.g. --endpoint), or a request the node rejects as invalid (DYNAMO_INVALID_ARGUMENT)' },
  { code: EXIT.unavailable, meaning: 'unavailable: no node reachable, too few replicas for the level, or a node that cannot act on a command yet (DYNAMO_UNAVAILABLE); `repair` that had to skip a replica (down or unreachable)' },
  { code: EXIT.timeout, meaning: 'timeout: the deadline passed first (DYNAMO_TIMEOUT), or `decommission` / `repair` waited --timeout-s for the node to leave / the repair to finish' },
  { code: EXIT.failed, meaning: 'any other failure: limits (DYNAMO_LIMIT_EXCEEDED), storage or internal errors, a node that fails to start, a decommission called off, a repair that failed' },
  { code: EXIT.unauthenticated, meaning: 'unauthenticated: the node refused the credentials, a missing or wrong token (DYNAMO_UNAUTHENTICATED)' },
];

/** Bad command-line usage found by the CLI itself. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit code for an error a command failed with. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError) return EXIT.usage;
  if (!(e instanceof DynamoError)) return EXIT.failed;
  switch (e.code) {
    case 'DYNAMO_INVALID_ARGUMENT':
      return EXIT.usage;
    case 'DYNAMO_UNAVAILABLE':
    case 'DYNAMO_CLOSED':
      return EXIT.unavailable;
    case 'DYNAMO_TIMEOUT':
      return EXIT.timeout;
    case 'DYNAMO_UNAUTHENTICATED':
      return EXIT.unauthenticated;
    default:
      return EXIT.failed;
  }
}
