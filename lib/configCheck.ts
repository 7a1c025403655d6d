/**
 * The whole configuration checked offline, before anything connects (Temporal, the CRMs, the ledger):
 * the network file, every mapping file it names (parsed and type-checked against the mapping's schema
 * snapshots — the live schemas are checked later, when the link is built), the Rules-of-Engagement
 * policy, and every credential reference. Every problem at once, each at its file:line:col with how to
 * fix it. `cosell worker` refuses to start on any error (exit 2); `cosell validate` prints the same list.
 */
import { existsSync, readFileSync } from 'node:fs';
import { NETWORK_FILE_HINT, splitEndpoint, parseNetwork, type LoadedNetwork, type Network } from './config.js';
import { CosellError, type ProblemCode } from './errors.js';
import { secretProblem } from './secrets.js';
import { loadMappingFile } from '../mappings/index.js';
import { formatProblem, hasErrors, type Problem } from './problems.js';
import { parsePolicy, type Policy } from '../rules/policy.js';
import { mappingSnapshots } from '../sync/build.js';
import { linkFilterProblems } from '../sync/linkFilter.js';
import { readConfigText } from './configFile.js';

/** Adds a positioned problem of the network file (once per path and code). */
type At = (path: Path, code: ProblemCode, message: string, hint?: string) => void;

export interface ConfigCheckOptions {
  /** Check that every env:/file: credential resolves (default true; `cosell validate --offline` skips it, e.g. in CI without secrets). */
  credentials?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ConfigCheck {
  /** The network, when the network file itself is valid (mapping/policy/credential problems may remain). */
  loaded?: LoadedNetwork;
  /** Every problem, errors and warnings; a mapping's problems name the mapping file (once, however many links share it). */
  problems: Problem[];
  /** The problems of each link's own `filter:` (also in `problems`), checked against its mapping's source snapshot. */
  filterProblems: Map<string, Problem[]>;
}

type Path = Array<string | number>;

export function checkConfig(file: string, opts: ConfigCheckOptions = {}): ConfigCheck {
  const env = opts.env ?? process.env;
  const read = readConfigText(file, 'network file', 'CONFIG_FILE', NETWORK_FILE_HINT);
  if (read.problem) return { filterProblems: new Map(), problems: [read.problem] };
  const parsed = parseNetwork(read.text, file, env);
  if (!parsed.loaded) return { filterProblems: new Map(), problems: parsed.problems };
  const loaded = parsed.loaded;
  const problems: ConfigCheck['problems'] = [];
  const filterProblems: ConfigCheck['filterProblems'] = new Map();
  const reported = new Set<string>();
  const at: At = (path, code, message, hint) => {
    const key = `${path.join('.')}|${code}`;
    if (reported.has(key)) return; // e.g. one partner on two registration links
    reported.add(key);
    problems.push({ file, ...loaded.position(path), severity: 'error', code, message, ...(hint ? { hint } : {}) });
  };
  const network = loaded.network;

  if (opts.credentials !== false) checkCredentials(network, at, env);
  const policy = checkPolicy(loaded, at, problems);

  // Each mapping file is loaded once, however many links use it; its problems are reported once.
  const seen = new Map<string, ReturnType<typeof loadMappingFile>>();
  network.links.forEach((link, i) => {
    if (!link.enabled) return;
    const mappingFile = loaded.resolve(link.mapping);
    if (!existsSync(mappingFile)) {
      at(['links', i, 'mapping'], 'CONFIG_MAPPING_MISSING', `link "${link.id}": mapping file ${mappingFile} does not exist`, `fix the path (it is relative to ${file})`);
      return;
    }
    let result = seen.get(mappingFile);
    if (!result) {
      result = loadMappingFile(mappingFile, {});
      seen.set(mappingFile, result);
      problems.push(...result.problems);
    }
    // The link's own filter, against the source snapshot when the mapping is sound (else its syntax only).
    const found = linkFilterProblems(loaded, link, result.mapping ? mappingSnapshots(mappingFile).source : undefined);
    filterProblems.set(link.id, found);
    problems.push(...found);
    // The link says which objects it connects; its mapping must read and write the same ones.
    for (const side of ['from', 'to'] as const) {
      const object = splitEndpoint(link[side]).object;
      const declared = result.objects?.[side === 'from' ? 'source' : 'target'];
      if (declared && declared !== object) {
        at(['links', i, side], 'CONFIG_MAPPING_OBJECT', `link "${link.id}" ${side === 'from' ? 'reads' : 'writes'} ${object}, but its mapping ${link.mapping} ${side === 'from' ? 'reads' : 'writes'} ${declared}`, `use a mapping for ${object}, or change ${side}: to ORG.${declared}`);
      }
    }
    if (link.registration) {
      if (!network.rules) at(['links', i, 'registration'], 'CONFIG_RULES_MISSING', `link "${link.id}" is a registration link but the network file has no rules: policy`, 'add `rules: roe.yaml` (see rules/README.md) or set registration: false');
      else if (policy) checkTier(loaded, policy, link.from, link.to, at);
    }
  });
  return { loaded, problems, filterProblems };
}

/** Throws COSELL_CONFIG_INVALID listing every error (warnings are returned for the caller to log). */
export function assertConfig(file: string, opts: ConfigCheckOptions = {}): { loaded: LoadedNetwork; warnings: Problem[] } {
  const { loaded, problems } = checkConfig(file, opts);
  const errors = problems.filter((p) => p.severity === 'error');
  if (!loaded || hasErrors(errors)) {
    throw new CosellError('COSELL_CONFIG_INVALID', `${errors.length} problem(s) in ${file} and the files it names:\n${errors.map(formatProblem).join('\n')}`, { details: { problems: errors } });
  }
  return { loaded, warnings: problems.filter((p) => p.severity === 'warning') };
}

/**
 * Every credential reference in the network, wherever the schema allows one (connections, sharing
 * secrets, push webhooks, the ledger URL, and any added later): the schema accepts a secret only as
 * `env:NAME` / `file:PATH`, and nothing else in a network file is written that way.
 */
function checkCredentials(network: Network, at: At, env: NodeJS.ProcessEnv): void {
  const walk = (v: unknown, path: Path): void => {
    if (typeof v === 'string') {
      if (!/^(env|file):./.test(v)) return;
      const problem = secretProblem(v, env);
      if (problem) at(path, 'CONFIG_SECRET_MISSING', `${path.join('.')}: ${problem.message}`, problem.hint);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(network, []);
}

function checkPolicy(loaded: LoadedNetwork, at: At, problems: ConfigCheck['problems']): Policy | undefined {
  const rules = loaded.network.rules;
  if (!rules) return undefined;
  const file = loaded.resolve(rules);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    at(['rules'], 'CONFIG_RULES_MISSING', `cannot read the rules policy ${file} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`, `fix the path (it is relative to ${loaded.file}) or remove rules:`);
    return undefined;
  }
  const { policy, problems: found } = parsePolicy(text, file);
  problems.push(...found);
  return policy;
}

/** A registration link's partner needs a tier and regions the policy defines (else every decision would fail). */
function checkTier(loaded: LoadedNetwork, policy: Policy, from: string, to: string, at: At): void {
  const vendor = loaded.network.vendor.id;
  const partnerId = splitEndpoint(from).org === vendor ? splitEndpoint(to).org : splitEndpoint(from).org;
  const i = loaded.network.partners.findIndex((p) => p.id === partnerId);
  if (i < 0) return;
  const tier = loaded.network.partners[i].tier;
  if (!policy.tiers.has(tier)) {
    at(['partners', i, 'tier'], 'CONFIG_TIER_UNKNOWN', `partner "${partnerId}" has tier "${tier}", which the rules policy ${loaded.network.rules} does not define`, `use one of: ${[...policy.tiers.keys()].join(', ')}, or add the tier to the policy`);
  }
  const regions = loaded.network.partners[i].territories?.regions ?? [];
  regions.forEach((r, j) => {
    if (!policy.regions.has(r)) at(['partners', i, 'territories', 'regions', j], 'CONFIG_REGION_UNKNOWN', `partner "${partnerId}" works region "${r}", which the rules policy ${loaded.network.rules} does not define`, `use one of: ${[...policy.regions.keys()].join(', ') || '(none defined)'}, or add it under regions: in the policy`);
  });
}
