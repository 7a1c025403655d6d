import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { Client } from '@temporalio/client';
import { connectClient } from '../lib/client.js';
import { loadNetwork, NETWORK_FILE_HINT } from '../lib/config.js';
import { configTextOrThrow } from '../lib/configFile.js';
import { ledgerLocation, openLedgerAt, openNetworkLedger } from '../app/engine.js';
import { CosellError } from '../lib/errors.js';
import { suggestionHint } from '../lib/suggest.js';
import type { Ledger } from '../ledger/index.js';
import { describeAwaiting, REGISTRATION_STATUSES, type RegistrationState, type RegistrationStatus } from '../rules/index.js';
import { configOption, jsonOption, limitOption, printJson, wholeNumber } from './options.js';
import { formatTable } from './table.js';
import { decideRegistration, decideRegistrationExtension, extendRegistration, normaliseRegistrationId, openRegistrationDispute, requestRegistrationExtension, requestRegistrationInfo, resolveRegistrationDispute } from '../lib/registrationClient.js';
import { DISPUTE_OUTCOMES, type DisputeOutcome, type DisputeState } from '../rules/dispute.js';
import { ATTRIBUTION_ROLES, type AttributionRole } from '../rules/types.js';
import type { RegistrationDetails } from '../registrations/details.js';
import { registrationStatusQuery, registrationHandle, disputeWorkflowId } from '../lib/workflowClient.js';

/**
 * What these commands need of the network file — its ledger, partner ids and links — read without the
 * full loader on purpose: that one resolves `${VAR}`s and credentials, and ops must be able to list
 * and decide registrations from any shell, without the worker's secrets.
 */
function networkOutline(config: string): { ledger?: { url?: string; file?: string }; partners?: Array<{ id?: unknown }>; links?: Array<{ id?: unknown; from?: unknown; to?: unknown }> } {
  const text = configTextOrThrow(config, 'network file', { error: 'COSELL_CONFIG_INVALID', problem: 'CONFIG_FILE' }, NETWORK_FILE_HINT);
  const doc: unknown = parseYaml(text);
  return doc && typeof doc === 'object' && !Array.isArray(doc) ? doc : {};
}

/**
 * The ledger the network file names. Only its `ledger:` entry is read (no connection secrets or
 * `${VAR}`s needed, so ops can list registrations from any shell); no network file → the default.
 */
export async function openLedgerOf(config: string): Promise<Ledger> {
  if (!existsSync(config)) return openLedgerAt(ledgerLocation(undefined, { file: config, resolveUrl: (ref) => ref }));
  const doc = networkOutline(config);
  if (doc.ledger?.url) return openNetworkLedger(loadNetwork(config)); // a URL may be a secret reference: resolve it properly
  const file = doc.ledger?.file?.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, v: string) => process.env[v] ?? '');
  return openLedgerAt(ledgerLocation(file ? { file } : undefined, { file: config, resolveUrl: (ref) => ref }));
}

/** `--status`: one of the lifecycle's statuses (a typo is an error with a suggestion, not an empty list). */
function parseStatus(status: string | undefined): RegistrationStatus | undefined {
  if (status === undefined) return undefined;
  if ((REGISTRATION_STATUSES as readonly string[]).includes(status)) return status as RegistrationStatus;
  throw new CosellError('COSELL_INPUT_INVALID', `--status ${status} is not a registration status`, { hint: suggestionHint(status, REGISTRATION_STATUSES) });
}

/** `--partner`: a partner the network file names (without a network file, any id is taken as given). */
function checkPartner(config: string, partner: string | undefined): void {
  if (partner === undefined || !existsSync(config)) return;
  const doc = networkOutline(config);
  const ids = (Array.isArray(doc.partners) ? doc.partners : []).map((p) => p?.id).filter((id): id is string => typeof id === 'string');
  if (!ids.includes(partner)) throw new CosellError('COSELL_INPUT_INVALID', `--partner ${partner}: no such partner in ${config}`, { hint: suggestionHint(partner, ids) });
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
    const doc = networkOutline(config);
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
  if (s.extensionRequest) process.stdout.write(`  extension requested by ${s.extensionRequest.by} at ${s.extensionRequest.at}: ${s.extensionRequest.reason}\n`);
  if (s.decidedBy) process.stdout.write(`  decided by ${s.decidedBy} at ${s.decidedAt}: ${s.reason ?? ''}\n`);
  for (const h of s.history) process.stdout.write(`  ${h.at}  ${h.from ?? '-'} → ${h.to}  by ${h.by}${h.reason ? `: ${h.reason}` : ''}\n`);
}

function printDispute(d: DisputeState): void {
  process.stdout.write(`${disputeWorkflowId(d.registrationId)}  ${d.status}${d.dueAt ? ` (resolve by ${d.dueAt})` : ''}\n  raised by ${d.by} at ${d.openedAt}: ${d.reason}\n`);
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

/** A decision's outcome: the registration's state after it, as text or (--json) the workflow's state. */
function printResult(s: RegistrationState, json?: boolean): void {
  if (json) printJson(s);
  else printState(s);
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
    .option(...configOption())
    .option('--status <status>', `only this status (${REGISTRATION_STATUSES.join(', ')})`)
    .option('--partner <id>', 'only this partner')
    .option(...limitOption)
    .option(...jsonOption)
    .action(async (opts: { config: string; status?: string; partner?: string; json?: boolean; limit: string }) => {
      const status = parseStatus(opts.status);
      const limit = wholeNumber(opts.limit, '--limit');
      checkPartner(opts.config, opts.partner);
      const { rows, total } = await withLedger(opts.config, (l) => l.registrations.page({ status: status ? [status] : undefined, partner: opts.partner, sort: 'submitted', limit }));
      const waiting = (r: (typeof rows)[number]) => waitingOn(r.status, r.details as unknown as RegistrationDetails | null);
      if (opts.json) return printJson(rows.map((r) => ({ ...r, waiting: waiting(r) })));
      if (!rows.length) return void process.stdout.write(`no registrations${status ? ` ${status}` : ''}${opts.partner ? ` from ${opts.partner}` : ''}\n`);
      process.stdout.write(
        formatTable(
          rows.map((r) => ({
            id: r.id,
            status: r.status,
            partner: r.partner,
            customer: r.customerName ?? '',
            domain: r.customerDomain ?? '',
            amount: r.amount ?? '',
            expires: r.expiresAt?.slice(0, 10) ?? '',
            waiting: waiting(r),
            reason: r.reason ?? '',
          })),
        ),
      );
      // The footer's counts add up to the rows shown; "of N" when --limit cut the list.
      const byStatus = new Map<string, number>();
      for (const r of rows) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      const breakdown = [...byStatus].map(([k, n]) => `${k} ${n}`).join(', ');
      process.stdout.write(`${rows.length}${total > rows.length ? ` of ${total}` : ''} registration${total === 1 ? '' : 's'} (${breakdown})${total > rows.length ? '; more with --limit' : ''}\n`);
    });

  reg
    .command('show <id>')
    .description('one registration: ledger row, live workflow status and its decision audit')
    .option(...configOption())
    .option(...jsonOption)
    .action(async (rawId: string, opts: { config: string; json?: boolean }) => {
      const id = normaliseRegistrationId(rawId);
      const { row, audit } = await withLedger(opts.config, async (l) => {
        const row = await l.registrations.get(id);
        if (!row) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${id}`, { hint: 'list them with `cosell registrations list`' });
        const ownLink = typeof row.details?.linkId === 'string' ? row.details.linkId : undefined;
        return { row, audit: await l.audit.list({ recordId: row.sourceId, linkIds: registrationLinks(opts.config, row.partner, ownLink), limit: 50 }) };
      });
      const live = await withClient(async (c) => registrationHandle(c, id).query(registrationStatusQuery).catch(() => undefined));
      if (opts.json) return void process.stdout.write(JSON.stringify({ registration: row, workflow: live ?? null, audit }) + '\n');
      if (live) printState(live);
      else process.stdout.write(`${row.id}  ${row.status} (workflow not running)\n  ${row.reason ?? ''}\n`);
      process.stdout.write(`  customer: ${row.customerName ?? '?'} (${row.customerDomain ?? 'no domain'}, ${row.country ?? 'no country'}), amount ${row.amount ?? '?'} ${row.currency ?? ''}\n`);
      if (row.vendorOpportunityId) process.stdout.write(`  vendor opportunity: ${row.vendorOpportunityId}\n`);
      for (const a of audit.filter((x) => x.action.startsWith('registration') || x.action === 'attribution-protected')) {
        process.stdout.write(`  audit ${a.at} ${a.action}${a.actor ? ` by ${a.actor}` : ''}\n`);
      }
    });

  // A rejection's reason is what the partner reads: required. An approval's defaults to "approved".
  const decide = (action: 'approve' | 'reject') =>
    reg
      .command(`${action} <id>`)
      .description(`${action} a registration pending review (the workflow's \`decide\` update)`)
      .requiredOption('--by <who>', 'who decides (name or e-mail)')
      [action === 'reject' ? 'requiredOption' : 'option']('--reason <text>', action === 'reject' ? 'why (shown to the partner)' : 'why (shown to the partner; default "approved")')
      .option(...jsonOption)
      .action(async (rawId: string, opts: { by: string; reason?: string; json?: boolean }) => {
        const s = await withClient((c) => decideRegistration(c, rawId, { action, by: opts.by, reason: opts.reason ?? 'approved' }));
        printResult(s, opts.json);
      });
  decide('approve');
  decide('reject');

  reg
    .command('request-info <id>')
    .description('"Action Required": ask the partner for fields (the workflow\'s `requestInfo` update); re-decided when the partner changes them')
    .requiredOption('--by <who>', 'who asks (name or e-mail)')
    .requiredOption('--fields <list>', 'comma-separated registration fields, e.g. amount,closeDate,domain or fields.<mapped field>')
    .requiredOption('--reason <text>', 'why (internal: the partner reads a fixed sentence and the field list)')
    .option(...jsonOption)
    .action(async (rawId: string, opts: { by: string; fields: string; reason: string; json?: boolean }) => {
      const fields = opts.fields.split(',').map((f) => f.trim()).filter(Boolean);
      printResult(await withClient((c) => requestRegistrationInfo(c, rawId, { by: opts.by, fields, reason: opts.reason })), opts.json);
    });

  reg
    .command('dispute <id>')
    .description("open a dispute of a rejected registration on the partner's behalf (workflow dispute:<partner>:<id>, with the policy's disputes.sla)")
    .option(...configOption())
    .requiredOption('--by <who>', 'who raises it (the channel manager)')
    .requiredOption('--reason <text>', "the partner's case (internal: never shown to another partner)")
    .option(...jsonOption)
    .action(async (rawId: string, opts: { config: string; by: string; reason: string; json?: boolean }) => {
      const id = normaliseRegistrationId(rawId);
      const row = await withLedger(opts.config, (l) => l.registrations.get(id));
      if (!row) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${id}`, { hint: 'list them with `cosell registrations list`' });
      const d = await withClient((c) => openRegistrationDispute(c, row, { by: opts.by, reason: opts.reason }));
      if (opts.json) printJson(d);
      else printDispute(d);
    });

  reg
    .command('resolve-dispute <id>')
    .description("resolve a registration's dispute: uphold (the decision stands), overturn (a rejection becomes an approval), split (share attribution with the customer's holder)")
    .requiredOption('--outcome <outcome>', DISPUTE_OUTCOMES.join(' | '))
    .requiredOption('--by <who>', 'who resolves it')
    .requiredOption('--reason <text>', 'why (internal; the partner reads a fixed sentence)')
    .option('--partners <list>', 'split only: partner:role[:split],… (default: the holder keeps its role, the disputing partner takes its own, policy splits)')
    .option(...jsonOption)
    .action(async (rawId: string, opts: { outcome: string; by: string; reason: string; partners?: string; json?: boolean }) => {
      if (!(DISPUTE_OUTCOMES as readonly string[]).includes(opts.outcome)) throw new CosellError('COSELL_INPUT_INVALID', `--outcome must be one of ${DISPUTE_OUTCOMES.join(', ')}, not "${opts.outcome}"`);
      const partners = opts.partners ? parsePartners(opts.partners) : undefined;
      const d = await withClient((c) => resolveRegistrationDispute(c, rawId, { outcome: opts.outcome as DisputeOutcome, by: opts.by, reason: opts.reason, partners }));
      if (opts.json) printJson(d);
      else printDispute(d);
    });

  reg
    .command('request-extension <id>')
    .description("ask for an extension of an approved registration's exclusivity on the partner's behalf (partners write on their deal's extension field); the vendor approves or denies it")
    .requiredOption('--by <who>', 'who asks')
    .requiredOption('--reason <text>', "the partner's reason (internal)")
    .option(...jsonOption)
    .action(async (rawId: string, opts: { by: string; reason: string; json?: boolean }) => {
      printResult(await withClient((c) => requestRegistrationExtension(c, rawId, { by: opts.by, reason: opts.reason })), opts.json);
    });

  reg
    .command('decide-extension <id>')
    .description("approve (one extension period) or deny a registration's open extension request")
    .requiredOption('--decision <approve|deny>', 'approve | deny')
    .requiredOption('--by <who>', 'who decides')
    .requiredOption('--reason <text>', 'why (internal; the partner reads a fixed sentence)')
    .option(...jsonOption)
    .action(async (rawId: string, opts: { decision: string; by: string; reason: string; json?: boolean }) => {
      if (opts.decision !== 'approve' && opts.decision !== 'deny') throw new CosellError('COSELL_INPUT_INVALID', `--decision must be approve or deny, not "${opts.decision}"`);
      printResult(await withClient((c) => decideRegistrationExtension(c, rawId, { action: opts.decision as 'approve' | 'deny', by: opts.by, reason: opts.reason })), opts.json);
    });

  reg
    .command('extend <id>')
    .description("extend an approved registration's exclusivity by the policy's extension period")
    .requiredOption('--by <who>', 'who asks for it')
    .option('--reason <text>', 'why')
    .option(...jsonOption)
    .action(async (rawId: string, opts: { by: string; reason?: string; json?: boolean }) => {
      const s = await withClient((c) => extendRegistration(c, rawId, { by: opts.by, reason: opts.reason }));
      printResult(s, opts.json);
    });
}
