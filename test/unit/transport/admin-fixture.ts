/** An AdminHandler whose membership commands and ring are not used by a test. */
import type { AdminHandler } from '../../../lib/protocol/index.ts';

const unused = async (): Promise<never> => {
  throw new Error('not used in this test');
};

export const unusedAdmin: Omit<AdminHandler, 'status'> = { join: unused, decommission: unused, remove: unused, ring: unused, repair: unused };
