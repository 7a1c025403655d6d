import { sandboxConfigSchema, type SandboxConfig } from '@cosell/sandbox';
import { configTextOrThrow } from '../lib/configFile.js';
import { CosellError } from '../lib/errors.js';
import { formatProblem } from '../lib/problems.js';
import { YamlSource } from '../lib/yamlSource.js';

/**
 * A sandbox network file (`cosell sandbox --config FILE`), read like every other admin-written file:
 * every problem at file:line:col against the @cosell/sandbox package's schema, nothing started.
 */
export function parseSandboxConfig(text: string, file: string): SandboxConfig {
  const src = new YamlSource(text, file);
  const cfg = src.validate(sandboxConfigSchema, 'SANDBOX_CONFIG_INVALID');
  if (!cfg) {
    throw new CosellError('COSELL_CONFIG_INVALID', src.problems.map(formatProblem).join('\n'), {
      hint: 'see default-network.yaml in @cosell/sandbox (sandbox/ in a checkout) for a complete example',
      details: { problems: src.problems },
    });
  }
  return cfg as SandboxConfig;
}

export function loadSandboxConfig(file: string): SandboxConfig {
  return parseSandboxConfig(configTextOrThrow(file, 'sandbox network file', { error: 'COSELL_CONFIG_INVALID', problem: 'SANDBOX_CONFIG_INVALID' }, 'check the --config path'), file);
}
