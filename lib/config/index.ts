/**
 * config: the node's typed configuration — defaults, profiles, flag and
 * environment names (`--data-dir` / `DYNAMO_DATA_DIR`) and validation that
 * names the field at fault. Pure; cmd/ feeds it argv and process.env.
 */
export * from './node-config.ts';
