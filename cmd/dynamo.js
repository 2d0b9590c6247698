#!/usr/bin/env node
// The `dynamo` bin: runs the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./dynamo.ts');
