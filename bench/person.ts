import jsforce from 'jsforce';
import type { Sandbox } from '@cosell/sandbox';

type SalesforceInfo = Extract<Sandbox['orgs'][string], { kind: 'salesforce' }>;

/**
 * A person of a sandbox Salesforce org (a seeded owner, password grant), not cosell's integration user:
 * Change Data Capture marks the integration user's writes as cosell's own, which a stream does not
 * re-read, so changes meant to stand for people's edits must be made as one.
 */
export async function personOfTheOrg(info: SalesforceInfo): Promise<jsforce.Connection> {
  const admin = new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: info.accessToken, version: '62.0' });
  const owner = (await admin.query<{ Username: string }>('SELECT Username FROM User')).records.find((u) => u.Username !== info.username)!;
  const res = await fetch(`${info.loginUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: info.clientId, client_secret: info.clientSecret, username: owner.Username, password: info.password! }).toString(),
  });
  return new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: ((await res.json()) as { access_token: string }).access_token, version: '62.0' });
}
