import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CONFIG_SCHEMAS, configJsonSchema, type ConfigSchemaKind } from '../lib/jsonSchemas.js';
import { CosellError } from '../lib/errors.js';
import { suggestionHint } from '../lib/suggest.js';

/** `cosell schema network|roe|mapping [--out FILE]`: the JSON Schema of a configuration file, for editors. */
export function registerSchema(program: Command): void {
  program
    .command('schema <kind>')
    .description(`print the JSON Schema of a configuration file (${Object.keys(CONFIG_SCHEMAS).join(', ')}) for editors, or write it with --out`)
    .option('--out <file>', 'write it to this file')
    .action((kind: string, opts: { out?: string }) => {
      if (!Object.hasOwn(CONFIG_SCHEMAS, kind)) throw new CosellError('COSELL_INPUT_INVALID', `no schema "${kind}"`, { hint: suggestionHint(kind, Object.keys(CONFIG_SCHEMAS)) });
      const text = JSON.stringify(configJsonSchema(kind as ConfigSchemaKind), null, 2) + '\n';
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
    });
}
