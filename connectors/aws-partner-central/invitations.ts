import { createHash } from 'node:crypto';
import {
  GetEngagementInvitationCommand, ListEngagementInvitationsCommand, RejectEngagementInvitationCommand, StartEngagementByAcceptingInvitationTaskCommand,
  type GetEngagementInvitationCommandOutput, type ListEngagementInvitationsCommandOutput, type StartEngagementByAcceptingInvitationTaskCommandOutput,
} from '@aws-sdk/client-partnercentral-selling';
import { log } from '../../lib/logger.js';
import { taskFailure } from './errors.js';
import type { AceTransport } from './transport.js';

/**
 * Engagement invitations: AWS referrals. When an AWS seller attaches the partner to one of AWS's
 * opportunities, a PENDING invitation appears (ListEngagementInvitations, ParticipantType RECEIVER).
 * Accepting it (StartEngagementByAcceptingInvitationTask) creates the partner's own opportunity
 * (Origin "AWS Referral"), which the Opportunity feed then delivers like any other — into the vendor
 * CRM through the ACE → vendor link. Rejecting it (RejectEngagementInvitation) takes a reason.
 *
 * Who decides: the org's invitation policy (`invitations:` in the network file), applied before each
 * read of the Opportunity feed, or a human with `cosell aws invitations accept|reject`.
 */
export interface Invitation {
  id: string;
  status: string;
  title: string;
  companyName?: string;
  industry?: string;
  countryCode?: string;
  amount?: number;
  invitedAt: string;
  expiresAt?: string;
  opportunityId?: string;
}

export interface InvitationPolicy {
  /** `manual`: leave every invitation for a human (the CLI); `accept`: accept those that pass the rules; `reject`: reject those that fail them. Default manual. */
  mode: 'manual' | 'accept' | 'accept-or-reject';
  /** Accept only these industries (default: any). */
  industries?: string[];
  /** Accept only these customer countries (ISO 3166 alpha-2; default: any). */
  countries?: string[];
  /** Accept only referrals whose expected monthly spend is at least this. */
  minMonthlySpend?: number;
  /** Reason sent with a rejection by policy (at most 80 characters). */
  rejectReason?: string;
}

export type Decision = { accept: true } | { accept: false; reason: string };

/** The policy's verdict on one invitation: pure, so it can be tested on its own. */
export function decideInvitation(policy: InvitationPolicy, inv: Invitation): Decision {
  if (policy.industries && !(inv.industry && policy.industries.includes(inv.industry))) return { accept: false, reason: policy.rejectReason ?? `industry ${inv.industry ?? 'unknown'} is outside our focus` };
  if (policy.countries && !(inv.countryCode && policy.countries.includes(inv.countryCode))) return { accept: false, reason: policy.rejectReason ?? `country ${inv.countryCode ?? 'unknown'} is outside our territories` };
  if (policy.minMonthlySpend !== undefined && !((inv.amount ?? 0) >= policy.minMonthlySpend)) return { accept: false, reason: policy.rejectReason ?? `expected spend below ${policy.minMonthlySpend} a month` };
  return { accept: true };
}

const iso = (d: Date | undefined) => (d ? new Date(d).toISOString() : '');

export async function listInvitations(t: AceTransport, catalog: string, status?: string[]): Promise<Invitation[]> {
  const out: Invitation[] = [];
  let token: string | undefined;
  do {
    const page: ListEngagementInvitationsCommandOutput = await t.send('read', 'ListEngagementInvitations', new ListEngagementInvitationsCommand({
      Catalog: catalog,
      ParticipantType: 'RECEIVER',
      PayloadType: ['OpportunityInvitation'],
      MaxResults: 100,
      Sort: { SortBy: 'InvitationDate', SortOrder: 'ASCENDING' },
      ...(status ? { Status: status as Array<'PENDING'> } : {}),
      ...(token ? { NextToken: token } : {}),
    }));
    for (const s of page.EngagementInvitationSummaries ?? []) {
      out.push({ id: s.Id ?? '', status: s.Status ?? 'PENDING', title: s.EngagementTitle ?? '', invitedAt: iso(s.InvitationDate), expiresAt: iso(s.ExpirationDate) });
    }
    token = page.NextToken;
  } while (token);
  return out;
}

export async function getInvitation(t: AceTransport, catalog: string, id: string): Promise<Invitation> {
  const inv: GetEngagementInvitationCommandOutput = await t.send('read', `GetEngagementInvitation ${id}`, new GetEngagementInvitationCommand({ Catalog: catalog, Identifier: id }));
  const p = inv.Payload?.OpportunityInvitation;
  const spend = p?.Project?.ExpectedCustomerSpend?.[0]?.Amount;
  return {
    id: inv.Id ?? id,
    status: inv.Status ?? 'PENDING',
    title: inv.EngagementTitle ?? p?.Project?.Title ?? '',
    companyName: p?.Customer?.CompanyName,
    industry: p?.Customer?.Industry,
    countryCode: p?.Customer?.CountryCode,
    ...(spend !== undefined && Number.isFinite(Number(spend)) ? { amount: Number(spend) } : {}),
    invitedAt: iso(inv.InvitationDate),
    expiresAt: iso(inv.ExpirationDate),
  };
}

/** Accept: returns the id of the opportunity AWS created for the partner. */
export async function acceptInvitation(t: AceTransport, catalog: string, id: string): Promise<string> {
  const res: StartEngagementByAcceptingInvitationTaskCommandOutput = await t.send('write', `StartEngagementByAcceptingInvitationTask ${id}`, new StartEngagementByAcceptingInvitationTaskCommand({
    Catalog: catalog,
    Identifier: id,
    ClientToken: createHash('sha256').update(`${catalog}\n${id}\naccept`).digest('hex'),
  }));
  if (res.TaskStatus === 'FAILED') throw taskFailure(`accept invitation ${id}`, res.ReasonCode, res.Message);
  return res.OpportunityId ?? '';
}

export async function rejectInvitation(t: AceTransport, catalog: string, id: string, reason: string): Promise<void> {
  await t.send('write', `RejectEngagementInvitation ${id}`, new RejectEngagementInvitationCommand({ Catalog: catalog, Identifier: id, RejectionReason: reason.slice(0, 80) }));
}

/** Apply the policy to every pending invitation; returns what it did. */
export async function applyInvitationPolicy(t: AceTransport, catalog: string, policy: InvitationPolicy): Promise<Array<{ id: string; accepted: boolean; reason?: string; opportunityId?: string }>> {
  if (policy.mode === 'manual') return [];
  const done: Array<{ id: string; accepted: boolean; reason?: string; opportunityId?: string }> = [];
  for (const s of await listInvitations(t, catalog, ['PENDING'])) {
    const inv = await getInvitation(t, catalog, s.id);
    const d = decideInvitation(policy, inv);
    if (d.accept) {
      const opportunityId = await acceptInvitation(t, catalog, inv.id);
      done.push({ id: inv.id, accepted: true, opportunityId });
    } else if (policy.mode === 'accept-or-reject') {
      await rejectInvitation(t, catalog, inv.id, d.reason);
      done.push({ id: inv.id, accepted: false, reason: d.reason });
    }
  }
  if (done.length) log.info({ catalog, decisions: done.length }, 'aws-partner-central: invitations decided by policy');
  return done;
}
