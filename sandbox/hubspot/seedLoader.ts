import { mapStage, type SeedData } from '../seed.js';
import { DEFAULT_PIPELINE, isLost, isWon } from './pipelines.js';
import { iso, type HubspotPortal, type Owner } from './portal.js';
import type { HsRecord } from './store.js';

/**
 * Load the deterministic seed into a portal: owners, companies (messy domains as partners type them),
 * deals spread over every default-pipeline stage, deal→company associations (unlabelled + primary).
 * Records are built directly and bulk-loaded (one sort per index), so 100k records load in about a second.
 */
const INDUSTRY_MAP: Record<string, string> = {
  Agriculture: 'FARMING', Apparel: 'APPAREL_FASHION', Banking: 'BANKING', Biotechnology: 'BIOTECHNOLOGY', Chemicals: 'CHEMICALS',
  Communications: 'TELECOMMUNICATIONS', Construction: 'CONSTRUCTION', Consulting: 'MANAGEMENT_CONSULTING', Education: 'EDUCATION_MANAGEMENT',
  Electronics: 'CONSUMER_ELECTRONICS', Energy: 'OIL_ENERGY', Engineering: 'MECHANICAL_OR_INDUSTRIAL_ENGINEERING', Entertainment: 'ENTERTAINMENT',
  Environmental: 'ENVIRONMENTAL_SERVICES', Finance: 'FINANCIAL_SERVICES', 'Food & Beverage': 'FOOD_BEVERAGES', Government: 'GOVERNMENT_ADMINISTRATION',
  Healthcare: 'HOSPITAL_HEALTH_CARE', Hospitality: 'HOSPITALITY', Insurance: 'INSURANCE', Machinery: 'MACHINERY', Manufacturing: 'INDUSTRIAL_AUTOMATION',
  Media: 'MEDIA_PRODUCTION', 'Not For Profit': 'NON_PROFIT_ORGANIZATION_MANAGEMENT', Recreation: 'RECREATIONAL_FACILITIES_SERVICES', Retail: 'RETAIL',
  Shipping: 'PACKAGE_FREIGHT_DELIVERY', Technology: 'COMPUTER_SOFTWARE', Telecommunications: 'TELECOMMUNICATIONS',
  Transportation: 'TRANSPORTATION_TRUCKING_RAILROAD', Utilities: 'UTILITIES',
};

export const OWNER_ID_BASE = 70_000_001;
const STAGES = DEFAULT_PIPELINE.stages;
const TARGET = { open: STAGES.filter((s) => !s.isClosed).map((s) => s.id), won: 'closedwon', lost: 'closedlost' };
const DAY = 86_400_000;

/** Deterministic "last modified" a few days after creation. */
function modifiedAfter(created: number, i: number, salt: number): number {
  const frac = (Math.imul(i + 1, 2654435761) ^ salt) >>> 0;
  return created + Math.floor((frac / 4294967296) * 9 * DAY);
}

export function defaultOwner(portal: HubspotPortal): Owner {
  const at = iso(Date.UTC(2024, 0, 15));
  return { id: String(OWNER_ID_BASE), email: `admin@${portal.id}.example.com`, firstName: 'Portal', lastName: 'Admin', userId: 9_000_001, createdAt: at, updatedAt: at, archived: false };
}

export function loadSeed(portal: HubspotPortal, seed: SeedData): void {
  const ownerAt = iso(Date.UTC(2024, 0, 15));
  portal.owners = [...seed.owners()].map((o, i) => ({
    id: String(OWNER_ID_BASE + i), email: o.email, firstName: o.firstName, lastName: o.lastName, userId: 9_000_001 + i, createdAt: ownerAt, updatedAt: ownerAt, archived: false,
  }));
  if (portal.owners.length === 0) portal.owners = [defaultOwner(portal)];
  const ownerId = (i: number) => portal.owners[Math.min(i, portal.owners.length - 1)].id;

  const companies: HsRecord[] = [];
  const cMeta = portal.stores.companies.meta;
  let i = 0;
  for (const c of seed.companies()) {
    const idNum = cMeta.idBase + i;
    const id = String(idNum);
    const modified = modifiedAfter(c.createdAt, i, 0x51ed);
    const props: Record<string, string> = {
      name: c.name, domain: c.domain, country: c.country, city: c.city,
      numberofemployees: String(c.employees), annualrevenue: String(c.annualRevenue), hubspot_owner_id: ownerId(c.ownerIndex),
      createdate: iso(c.createdAt), hs_lastmodifieddate: iso(modified), hs_object_id: id,
    };
    if (c.website) props.website = c.website;
    const industry = INDUSTRY_MAP[c.industry];
    if (industry) props.industry = industry;
    companies.push({ id, idNum, props, createdAt: c.createdAt, updatedAt: modified, archived: false });
    i++;
  }

  const deals: HsRecord[] = [];
  const dMeta = portal.stores.deals.meta;
  const links: Array<[string, string]> = [];
  i = 0;
  for (const d of seed.deals()) {
    const idNum = dMeta.idBase + i;
    const id = String(idNum);
    const modified = modifiedAfter(d.createdAt, i, 0xdea1);
    const stageId = mapStage(d.stageIndex, TARGET);
    const stage = STAGES.find((s) => s.id === stageId)!;
    const props: Record<string, string> = {
      dealname: d.name, amount: String(d.amount), closedate: `${d.closeDate}T00:00:00.000Z`, pipeline: 'default', dealstage: stageId,
      dealtype: d.type === 'New Customer' ? 'newbusiness' : 'existingbusiness', hubspot_owner_id: ownerId(d.ownerIndex),
      hs_is_closed: String(stage.isClosed), hs_is_closed_won: String(isWon(stage)), hs_is_closed_lost: String(isLost(stage)),
      hs_deal_stage_probability: String(stage.probability),
      createdate: iso(d.createdAt), hs_lastmodifieddate: iso(modified), hs_object_id: id,
    };
    deals.push({ id, idNum, props, createdAt: d.createdAt, updatedAt: modified, archived: false });
    if (d.companyIndex >= 0) links.push([id, String(cMeta.idBase + d.companyIndex)]);
    i++;
  }

  portal.stores.companies.bulkLoad(companies);
  portal.stores.deals.bulkLoad(deals);
  for (const [dealId, companyId] of links) portal.assoc.add('deals', dealId, 'companies', companyId, [341, 5]);
}
