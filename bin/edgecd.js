#!/usr/bin/env node
// `npx edgecd ...` from a clone (after npm ci) or an install: the TypeScript entry point, loaded
// through tsx (a runtime dependency), so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
