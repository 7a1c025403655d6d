import type { Command } from 'commander';
import type { AwsPartnerCentralConnector } from '../connectors/aws-partner-central/index.js';
import { createConnector } from '../connectors/index.js';
import { loadNetwork } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import { configOption, jsonOption, printJson } from './options.js';

/**
 * `cosell aws invitations list|accept|reject ORG …` — a human decides AWS referrals (engagement
 * invitations) of an `aws-partner-central` org. An accepted referral becomes a Partner Central
 * opportunity, which the ACE → vendor link then brings into the vendor CRM.
 */
interface Opts {
  config: string;
  json?: boolean;
  status?: string;
  reason?: string;
}

async function aceConnector(config: string, orgId: string): Promise<AwsPartnerCentralConnector> {
  const loaded = loadNetwork(config);
  const org = [loaded.network.vendor, ...loaded.network.partners].find((o) => o.id === orgId);
  if (!org) throw new CosellError('COSELL_CONFIG_INVALID', `${loaded.file}: no org "${orgId}"`, { hint: `orgs: ${[loaded.network.vendor, ...loaded.network.partners].map((o) => o.id).join(', ')}` });
  if (org.kind !== 'aws-partner-central') throw new CosellError('COSELL_CONFIG_INVALID', `${loaded.file}: org "${orgId}" is ${org.kind}, not aws-partner-central`, { hint: 'name the org whose kind is aws-partner-central' });
  return (await createConnector(org)) as AwsPartnerCentralConnector;
}

export function registerAws(program: Command): void {
  const aws = program.command('aws').description('AWS Partner Central: referrals (engagement invitations) from AWS');
  const inv = aws.command('invitations').description('list, accept or reject AWS referrals');
  const config = (c: Command) => c.option(...configOption()).option(...jsonOption);

  config(inv.command('list <org>').description('the referrals AWS sent this org (default: pending ones)'))
    .option('--status <list>', 'comma-separated: PENDING, ACCEPTED, REJECTED, EXPIRED', 'PENDING')
    .action(async (orgId: string, opts: Opts) => {
      const c = await aceConnector(opts.config, orgId);
      try {
        const statuses = (opts.status ?? 'PENDING').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
        const rows = await c.invitations.list(statuses);
        if (opts.json) return printJson(await Promise.all(rows.map((r) => (r.status === 'PENDING' ? c.invitations.get(r.id) : r))));
        if (!rows.length) process.stdout.write(`no ${statuses.join('/')} invitations in the ${c.catalog} catalog\n`);
        for (const r of rows) {
          const full = r.status === 'PENDING' ? await c.invitations.get(r.id) : r;
          process.stdout.write(`${r.id}  ${r.status.padEnd(8)}  ${full.title}${full.companyName ? `  — ${full.companyName}` : ''}${full.industry ? ` (${full.industry}${full.countryCode ? `, ${full.countryCode}` : ''})` : ''}${full.amount !== undefined ? `  ${full.amount}/month` : ''}  invited ${r.invitedAt}\n`);
        }
      } finally {
        await c.close();
      }
    });

  config(inv.command('accept <org> <id>').description('accept a referral: Partner Central creates the opportunity, which syncs into the vendor CRM'))
    .action(async (orgId: string, id: string, opts: Opts) => {
      const c = await aceConnector(opts.config, orgId);
      try {
        const opp = await c.invitations.accept(id);
        if (opts.json) return printJson({ accepted: id, opportunity: opp, catalog: c.catalog });
        process.stdout.write(`accepted ${id}: opportunity ${opp} in the ${c.catalog} catalog (the next sync of the AWS → vendor link brings it into the vendor CRM)\n`);
      } finally {
        await c.close();
      }
    });

  config(inv.command('reject <org> <id>').description('reject a referral, with the reason AWS sees'))
    .requiredOption('--reason <text>', 'why (at most 80 characters), e.g. "Outside our territory"')
    .action(async (orgId: string, id: string, opts: Opts) => {
      const reason = (opts.reason ?? '').trim();
      if (!reason || reason.length > 80) throw new CosellError('COSELL_CONFIG_INVALID', `--reason must be 1 to 80 characters (got ${reason.length})`, { hint: 'AWS shows the reason to its seller; keep it short' });
      const c = await aceConnector(opts.config, orgId);
      try {
        await c.invitations.reject(id, reason);
        if (opts.json) return printJson({ rejected: id, reason });
        process.stdout.write(`rejected ${id}: ${reason}\n`);
      } finally {
        await c.close();
      }
    });
}
