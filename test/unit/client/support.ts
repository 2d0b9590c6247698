/** Shared pieces of the SDK tests. */
import { DynamoClient } from '../../../lib/client/index.ts';

/** The SDK's two wire protocols: every client suite runs against both (see DynamoClientOptions.protocol). */
export const PROTOCOLS = ['session', 'unary'] as const;

/** Always starts at endpoint 0, so a test knows which endpoint is tried first. */
export class FirstEndpointClient extends DynamoClient {
  routed = 0;
  protected override route(): number {
    this.routed++;
    return 0;
  }
}

/** What `p` rejected with (fails the test if it resolved). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}
