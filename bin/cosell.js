#!/usr/bin/env node
// The cosell CLI. In a checkout the sources are TypeScript and tsx's loader runs them directly (tsx is
// a devDependency); the published package has no sources, only their build in dist/ (npm run build).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  // The checkout's tsconfig whatever the working directory: its `paths` map the workspace packages
  // (@cosell/sandbox) to their sources here.
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
await main(process.argv);
