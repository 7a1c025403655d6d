#!/usr/bin/env node
// The cosell CLI. The sources are TypeScript; tsx's loader runs them directly.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv);
