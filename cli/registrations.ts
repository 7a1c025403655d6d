import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { Client } from '@temporalio/client';
import { connectClient } from '../lib/client.js';
import { loadNetwork } from '../lib/config.js';
import { ledgerLocation, openNetworkLedger } from '../lib/engine.js';
import { CosellError } from '../lib/errors.js';
import { openLedger, type Ledger } from '../ledger/index.js';
import { describeAwaiting, type RegistrationState } from '../rules/index.js';
import { registrationWorkflowId } from '../sync/registrationGate.js';
import { registrationStatusQuery } from '../workflows/registrationApi.js';
import { decideRegistration, extendRegistration, normaliseRegistrationId, openRegistrationDispute, requestRegistrationInfo, resolveRegistrationDispute } from '../lib/registrationClient.js';
import { DISPUTE_OUTCOMES, type DisputeOutcome, type DisputeState } from '../rules/dispute.js';
import { ATTRIBUTION_ROLES, type AttributionRole } from '../rules/types.js';
import type { RegistrationDetails } from '../sync/registrationGate.js';

const configOption = ['-c, --config <file>', 'network file', process.env.COSELL_CONFIG ?? 'cosell.yaml'] as const;

/**
 * The ledger the network file names. Only its `ledger:` entry is read (no connection secrets or
 * `${VAR}`s needed, so ops can list registrations from any shell); no network file → the default.
 */
async function openLedgerOf(config: string): Promise<Ledger> {
  if (!existsSync(config)) return openLedger(ledgerLocation(undefined, { file: config, resolveUrl: (ref) => ref }));
  const doc = (parseYaml(readFileSync(config, 'utf8')) ?? {}) as { ledger?: { url?: string; file?: string } };
  if (doc.ledger?.url) return openNetworkLedger(loadNetwork(config)); // a URL may be a secret reference: resolve it properly
  const file = doc.ledger?.file?.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, v: string) => process.env[v] ?? '');
  return openLedger(ledgerLocation(file ? { file } : undefined, { file: config, resolveUrl: (ref) => ref }));
}

/**
 * The links a registration's events can be on: its own registration link and every link of its
 * partner in the network file (the vendor→partner link writes back onto the same deal). Record ids
 * are only unique inside one CRM — acme's deal 42 and globex's deal 42 are different deals — so a
 * registration's audit is filtered by these links, never by record id alone.
 */
function registrationLinks(config: string, partner: string, ownLink: string | undefined): string[] {
  const links = new Set<string>(ownLink ? [ownLink] : []);
  if (existsSync(config)) {
    const doc = (parseYaml(readFileSync(config, 'utf8')) ?? {}) as { links?: Array<{ id?: unknown; from?: unknown; to?: unknown }> };
    const orgOf = (endpoint: unknown) => (typeof endpoint === 'string' ? endpoint.split('.')[0] : undefined);
    for (const l of Array.isArray(doc.links) ? doc.links : []) {
      if (typeof l?.id === 'string' && (orgOf(l.from) === partner || orgOf(l.to) === partner)) links.add(l.id);
    }
  }
  return [...links];
}

async function withLedger<T>(config: string, fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  const ledger = await openLedgerOf(config);
  try {
    return await fn(ledger);
  } finally {
    await ledger.close();
  }
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient();
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

function printState(s: RegistrationState): void {
  process.stdout.write(`${s.id}  ${s.status}${s.escalated ? ' (escalated)' : ''}\n`);
  if (s.check) process.stdout.write(`  rules: ${s.check.outcome} by ${s.check.ruleId}: ${s.check.reason}\n`);
  if (s.reviewDueAt) process.stdout.write(`  review due: ${s.reviewDueAt}\n`);
  for (const a of s.approvals ?? []) process.stdout.write(`  approved by ${a.by} (${a.level}) at ${a.at}: ${a.reason}\n`);
  if (s.status === 'pending-review' && s.awaiting?.length) process.stdout.write(`  still needs: ${s.awaiting.map(describeAwaiting).join(', ')}\n`);
  if (s.infoRequest) process.stdout.write(`  action required (partner): ${s.infoRequest.fields.join(', ')} — asked by ${s.infoRequest.by} at ${s.infoRequest.at}: ${s.infoRequest.reason}\n`);
  if (s.expiresAt) process.stdout.write(`  exclusive until: ${s.expiresAt} (${s.extensions} extension${s.extensions === 1 ? '' : 's'})\n`);
  if (s.decidedBy) process.stdout.write(`  decided by ${s.decidedBy} at ${s.decidedAt}: ${s.reason ?? ''}\n`);
  for (const h of s.history) process.stdout.write(`  ${h.at}  ${h.from ?? '-'} → ${h.to}  by ${h.by}${h.reason ? `: ${h.reason}` : ''}\n`);
}

function printDispute(d: DisputeState): void {
  process.stdout.write(`dispute:${d.registrationId}  ${d.status}${d.dueAt ? ` (resolve by ${d.dueAt})` : ''}\n  raised by ${d.by} at ${d.openedAt}: ${d.reason}\n`);
  if (d.resolution) process.stdout.write(`  resolved ${d.resolution.outcome} by ${d.resolution.by} at ${d.resolution.at}: ${d.resolution.reason}\n`);
}

/** `acme:sourcing:60,globex:influence:40` → attribution parts (file-free input: say which part is wrong). */
function parsePartners(text: string): Array<{ partnerId: string; role: AttributionRole; split?: number }> {
  return text.split(',').map((part, i) => {
    const [partnerId, role, split] = part.trim().split(':');
    if (!partnerId || !role || !(ATTRIBUTION_ROLES as readonly string[]).includes(role) || (split !== undefined && !Number.isFinite(Number(split)))) {
      throw new CosellError('COSELL_INPUT_INVALID', `--partners item ${i + 1} "${part}" is not partner:role[:split]`, { hint: `roles: ${ATTRIBUTION_ROLES.join(', ')}; e.g. acme:sourcing:60,globex:influence:40` });
    }
    return { partnerId, role: role as AttributionRole, ...(split !== undefined ? { split: Number(split) } : {}) };
  });
}

/** Who a pending registration waits for: the partner (Action Required) or the approvals still needed. */
export function waitingOn(status: string, d: RegistrationDetails | null): string {
  if (status !== 'pending-review') return '';
  if (d?.infoRequest) return `partner: ${d.infoRequest.fields.join(', ')}`;
  return (d?.awaiting ?? []).map((w) => w.group ?? 'a reviewer').join(' + ') || 'a reviewer';
}

export function registerRegistrations(program: Command): void {
  const reg = program.command('registrations').alias('reg').description('deal registrations: list, inspect, approve, reject, extend');

  reg
    .command('list')
    .description('registrations from the ledger (oldest first)')
    .option(...configOption)
    .option('--status <status>', 'only this status (e.g. pending-review, approved, auto-approved, rejected, expired)')
    .option('--partner <id>', 'only this partner')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; status?: string; partner?: string; json?: boolean }) => {
      const rows = await withLedger(opts.config, (l) => l.registrations.list({ status: opts.status, partner: opts.partner }));
      if (opts.json) return void process.stdout.write(JSON.stringify(rows.map((r) => ({ ...r, waiting: waitingOn(r.status, r.details as unknown as RegistrationDetails | null) }))) + '\n');
      if (!rows.length) return void process.stdout.write('no registrations\n');
      console.table(
        rows.map((r) => ({
          id: r.id,
          status: r.status,
          customer: r.customerName ?? '',
          domain: r.customerDomain ?? '',
          amount: r.amount ?? '',
          expires: r.expiresAt?.slice(0, 10) ?? '',
          waiting: waitingOn(r.status, r.details as unknown as RegistrationDetails | null),
          reason: (r.reason ?? '').slice(0, 60),
        })),
      );
    });

  reg
    .command('show <id>')
    .description('one registration: ledger row, live workflow status and its decision audit')
    .option(...configOption)
    .option('--json', 'machine-readable output')
    .action(async (rawId: string, opts: { config: string; json?: boolean }) => {
      const id = normaliseRegistrationId(rawId);
      const { row, audit } = await withLedger(opts.config, async (l) => {
        const row = await l.registrations.get(id);
        if (!row) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${id}`, { hint: 'list them with `cosell registrations list`' });
        const ownLink = typeof row.details?.linkId === 'string' ? row.details.linkId : undefined;
        return { row, audit: await l.audit.list({ recordId: row.sourceId, linkIds: registrationLinks(opts.config, row.partner, ownLink), limit: 50 }) };
      });
      const live = await withClient(async (c) => c.workflow.getHandle(registrationWorkflowId(id)).query(registrationStatusQuery).catch(() => undefined));
      if (opts.json) return void process.stdout.write(JSON.stringify({ registration: row, workflow: live ?? null, audit }) + '\n');
      if (live) printState(live);
      else process.stdout.write(`${row.id}  ${row.status} (workflow not running)\n  ${row.reason ?? ''}\n`);
      process.stdout.write(`  customer: ${row.customerName ?? '?'} (${row.customerDomain ?? 'no domain'}, ${row.country ?? 'no country'}), amount ${row.amount ?? '?'} ${row.currency ?? ''}\n`);
      if (row.vendorOpportunityId) process.stdout.write(`  vendor opportunity: ${row.vendorOpportunityId}\n`);
      for (const a of audit.filter((x) => x.action.startsWith('registration') || x.action === 'attribution-protected')) {
        process.stdout.write(`  audit ${a.at} ${a.action}${a.actor ? ` by ${a.actor}` : ''}\n`);
      }
    });

  const decide = (action: 'approve' | 'reject') =>
    reg
      .command(`${action} <id>`)
      .description(`${action} a registration pending review (the workflow's \`decide\` update)`)
      .requiredOption('--by <who>', 'who decides (name or e-mail)')
      .requiredOption('--reason <text>', 'why (shown to the partner)')
      .action(async (rawId: string, opts: { by: string; reason: string }) => {
        const s = await withClient((c) => decideRegistration(c, rawId, { action, by: opts.by, reason: opts.reason }));
        printState(s);
      });
  decide('approve');
  decide('reject');

  reg
    .command('request-info <id>')
    .description('"Action Required": ask the partner for fields (the workflow\'s `requestInfo` update); re-decided when the partner changes them')
    .requiredOption('--by <who>', 'who asks (name or e-mail)')
    .requiredOption('--fields <list>', 'comma-separated registration fields, e.g. amount,closeDate,domain or fields.<mapped field>')
    .requiredOption('--reason <text>', 'why (internal: the partner reads a fixed sentence and the field list)')
    .action(async (rawId: string, opts: { by: string; fields: string; reason: string }) => {
      const fields = opts.fields.split(',').map((f) => f.trim()).filter(Boolean);
      printState(await withClient((c) => requestRegistrationInfo(c, rawId, { by: opts.by, fields, reason: opts.reason })));
    });

  reg
    .command('dispute <id>')
    .description("open a dispute of a rejected registration on the partner's behalf (workflow dispute:<partner>:<id>, with the policy's disputes.sla)")
    .option(...configOption)
    .requiredOption('--by <who>', 'who raises it (the channel manager)')
    .requiredOption('--reason <text>', "the partner's case (internal: never shown to another partner)")
    .action(async (rawId: string, opts: { config: string; by: string; reason: string }) => {
      const id = normaliseRegistrationId(rawId);
      const row = await withLedger(opts.config, (l) => l.registrations.get(id));
      if (!row) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${id}`, { hint: 'list them with `cosell registrations list`' });
      printDispute(await withClient((c) => openRegistrationDispute(c, row, { by: opts.by, reason: opts.reason })));
    });

  reg
    .command('resolve-dispute <id>')
    .description("resolve a registration's dispute: uphold (the decision stands), overturn (a rejection becomes an approval), split (share attribution with the customer's holder)")
    .requiredOption('--outcome <outcome>', DISPUTE_OUTCOMES.join(' | '))
    .requiredOption('--by <who>', 'who resolves it')
    .requiredOption('--reason <text>', 'why (internal; the partner reads a fixed sentence)')
    .option('--partners <list>', 'split only: partner:role[:split],… (default: the holder keeps its role, the disputing partner takes its own, policy splits)')
    .action(async (rawId: string, opts: { outcome: string; by: string; reason: string; partners?: string }) => {
      if (!(DISPUTE_OUTCOMES as readonly string[]).includes(opts.outcome)) throw new CosellError('COSELL_INPUT_INVALID', `--outcome must be one of ${DISPUTE_OUTCOMES.join(', ')}, not "${opts.outcome}"`);
      const partners = opts.partners ? parsePartners(opts.partners) : undefined;
      printDispute(await withClient((c) => resolveRegistrationDispute(c, rawId, { outcome: opts.outcome as DisputeOutcome, by: opts.by, reason: opts.reason, partners })));
    });

  reg
    .command('extend <id>')
    .description("extend an approved registration's exclusivity by the policy's extension period")
    .requiredOption('--by <who>', 'who asks for it')
    .option('--reason <text>', 'why')
    .action(async (rawId: string, opts: { by: string; reason?: string }) => {
      const s = await withClient((c) => extendRegistration(c, rawId, { by: opts.by, reason: opts.reason }));
      printState(s);
    });
}
