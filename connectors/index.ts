import type { OrgConfig } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import { activeTracing } from '../lib/tracing.js';
import type { AwsPartnerCentralConnectorConfig } from './aws-partner-central/index.js';
import type { HubspotConnectorConfig } from './hubspot/index.js';
import type { SalesforceConnectorConfig } from './salesforce/index.js';
import type { Connector, CrmKind } from './types.js';

/**
 * The connector registry: one factory per CRM kind. A third CRM is one folder under connectors/
 * exporting its config type and factory, one line in FACTORIES, and one more member of
 * ConnectorConfig — then it must pass the connector contract (@cosell/connector-contract, connector-contract/; see connectors/README.md).
 */
export type ConnectorConfig = SalesforceConnectorConfig | HubspotConnectorConfig | AwsPartnerCentralConnectorConfig;
export type { SalesforceConnectorConfig, HubspotConnectorConfig, AwsPartnerCentralConnectorConfig };

type Factory<C extends ConnectorConfig> = (config: C) => Promise<Connector>;

const FACTORIES: { [K in CrmKind]: Factory<Extract<ConnectorConfig, { kind: K }>> } = {
  // Each loaded on first use: jsforce, the HubSpot client and the AWS SDK are large, and a CLI command
  // (or a network) that never talks to one kind of CRM should not pay for loading it.
  salesforce: async (cfg) => (await import('./salesforce/index.js')).createSalesforceConnector(cfg),
  hubspot: async (cfg) => (await import('./hubspot/index.js')).createHubspotConnector(cfg),
  'aws-partner-central': async (cfg) => (await import('./aws-partner-central/index.js')).createAwsPartnerCentralConnector(cfg),
};

/**
 * Build the connector for one org, from a connector config or straight from an org of the network
 * file (cosell.yaml, lib/config.ts). Credentials stay SecretRefs until the connector resolves them.
 */
export async function createConnector(config: ConnectorConfig | OrgConfig): Promise<Connector> {
  const cfg = 'connection' in config ? connectorConfigFromOrg(config) : config;
  const factory = FACTORIES[cfg.kind] as Factory<ConnectorConfig> | undefined;
  if (!factory) throw new CosellError('COSELL_CONFIG_INVALID', `no connector for CRM kind ${JSON.stringify((cfg as { kind: unknown }).kind)}`, { hint: `known kinds: ${Object.keys(FACTORIES).join(', ')}` });
  const connector = await factory(cfg);
  // With tracing on, every CRM call is a span (connectors/traced.ts); off, the connector as it is.
  const tracing = activeTracing();
  return tracing ? (await import('./traced.js')).tracedConnector(connector, tracing.tracer) : connector;
}

/** An org of the network file → its connector config. */
export function connectorConfigFromOrg(org: OrgConfig): ConnectorConfig {
  if (org.kind === 'salesforce') {
    // pubsub (Change Data Capture) is not the connector's: app/cdc.ts runs it beside the connector.
    const { dailyPauseAt, pubsub: _pubsub, ...connection } = org.connection;
    return { kind: 'salesforce', orgId: org.id, ...connection, ...(dailyPauseAt !== undefined ? { dailyPauseAt } : {}) } as SalesforceConnectorConfig;
  }
  if (org.kind === 'aws-partner-central') {
    return { kind: 'aws-partner-central', orgId: org.id, ...org.connection };
  }
  const { tenSecondLimit, searchPerSecond, ...connection } = org.connection;
  return {
    kind: 'hubspot',
    orgId: org.id,
    ...connection,
    limits: { ...(tenSecondLimit !== undefined ? { tenSecondLimit } : {}), ...(searchPerSecond !== undefined ? { searchPerSecond } : {}) },
  };
}

// What a connector is written against and tested with (the published contract suite,
// @cosell/connector-contract, imports these from `cosell/connectors`).
export { START_CURSOR } from './types.js';
export type { ChangeOptions, ChangePage, Connector, CrmKind, CrmRecord, DeletionPage, ErrorKind, FeedCursor, FieldSchema, FieldSpec, FieldType, Fields, ObjectSchema, UpsertInput, UpdateInput, WriteResult } from './types.js';
export { ConnectorError, isConnectorError } from './errors.js';
