#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx tcplab` needs no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../electron/cli/main.ts');
