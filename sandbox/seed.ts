import type { SeedSpec } from './types.js';

/**
 * Deterministic seed data for the sandbox orgs.
 *
 * Every record is a pure function of (network seed, org, index): nothing is generated until it is
 * asked for, so a 1,000,000-record org costs no memory here (the emulator decides how to store it).
 * Companies come from one shared "universe" so the vendor and its partners overlap on purpose: a
 * partner company may be a messy variant (other domain spelling, other legal suffix) of a vendor
 * account, and `overlapOf` tells tests which one — the ground truth for account mapping.
 *
 * Stages are neutral: `stageIndex` 0..SEED_STAGES.length-1, where the last two are won and lost. Each
 * emulator maps the index onto its own picklist with `mapStage`.
 */

export interface SeedOwner {
  /** Stable neutral key, e.g. `acme-u-0003`. */
  key: string;
  firstName: string;
  lastName: string;
  email: string;
  title: string;
}

export interface SeedCompany {
  key: string;
  /** Key of the universe company this record represents (same value in vendor and partners = same company). */
  canonicalKey: string;
  name: string;
  /** Bare domain as typed by a user (may carry `www.`, a subdomain or be upper case in partner orgs). */
  domain: string;
  /** Website as a URL (Salesforce `Website`); sometimes missing. */
  website?: string;
  country: string;
  city: string;
  industry: string;
  employees: number;
  annualRevenue: number;
  ownerIndex: number;
  /** Epoch ms the record was created (spread over the past two years). */
  createdAt: number;
}

export interface SeedDeal {
  key: string;
  name: string;
  /** Index into this org's companies, or -1 for a deal without company. */
  companyIndex: number;
  /** Neutral stage index into SEED_STAGES. */
  stageIndex: number;
  amount: number;
  /** YYYY-MM-DD */
  closeDate: string;
  ownerIndex: number;
  type: string;
  leadSource: string;
  createdAt: number;
}

/**
 * One closed deal of the analytics history (SeedSpec.history): won or lost, direct or with 1–3
 * partners, created and closed inside the history's quarters. Joint deals are drawn to win more often
 * and close faster the more partners they have — the pattern the report's comparisons should find.
 */
export interface SeedHistoryDeal {
  key: string;
  name: string;
  companyIndex: number;
  won: boolean;
  amount: number;
  createdAt: number;
  /** YYYY-MM-DD */
  closeDate: string;
  ownerIndex: number;
  /** `partner:role:split;…` (empty for a direct deal). */
  attribution: string;
  partners: number;
}

export interface SeedStage {
  key: string;
  label: string;
  probability: number;
  closed: boolean;
  won: boolean;
}

/** Neutral pipeline: open stages in order, then won, then lost. */
export const SEED_STAGES: readonly SeedStage[] = [
  { key: 'prospecting', label: 'Prospecting', probability: 10, closed: false, won: false },
  { key: 'qualification', label: 'Qualification', probability: 20, closed: false, won: false },
  { key: 'needs_analysis', label: 'Needs Analysis', probability: 30, closed: false, won: false },
  { key: 'value_proposition', label: 'Value Proposition', probability: 40, closed: false, won: false },
  { key: 'decision_makers', label: 'Decision Makers', probability: 50, closed: false, won: false },
  { key: 'perception_analysis', label: 'Perception Analysis', probability: 60, closed: false, won: false },
  { key: 'proposal', label: 'Proposal', probability: 75, closed: false, won: false },
  { key: 'negotiation', label: 'Negotiation', probability: 90, closed: false, won: false },
  { key: 'closed_won', label: 'Closed Won', probability: 100, closed: true, won: true },
  { key: 'closed_lost', label: 'Closed Lost', probability: 0, closed: true, won: false },
];
export const SEED_OPEN_STAGES = SEED_STAGES.length - 2;
export const SEED_WON_STAGE = SEED_STAGES.length - 2;
export const SEED_LOST_STAGE = SEED_STAGES.length - 1;

/**
 * Map a neutral stage index onto a target pipeline given as its stage values in order, where the target
 * lists its open stages first, then `won`, then `lost` (pass them explicitly). Open stages are spread
 * proportionally so every target stage is used.
 */
export function mapStage(stageIndex: number, target: { open: readonly string[]; won: string; lost: string }): string {
  if (stageIndex === SEED_WON_STAGE) return target.won;
  if (stageIndex === SEED_LOST_STAGE) return target.lost;
  const i = Math.min(target.open.length - 1, Math.floor((stageIndex * target.open.length) / SEED_OPEN_STAGES));
  return target.open[Math.max(0, i)];
}

export interface SeedOptions {
  /** The org the data is for (salts the data so orgs differ). */
  orgId: string;
  role?: 'vendor' | 'partner';
  /** Network-wide seed (SandboxConfig.seed); `spec.seed` overrides it per org. */
  networkSeed?: number;
  /** Size of the vendor's account list, so partners can overlap with it (default: spec defaults). */
  vendorAccounts?: number;
  /** Fraction of a partner's companies that are (variants of) vendor accounts. Default 0.3. */
  overlapRate?: number;
  /** "Now" for created dates and close dates (default: 2026-11-01, fixed so seeds are reproducible). */
  now?: number;
}

export interface SeedData {
  orgId: string;
  role: 'vendor' | 'partner';
  seed: number;
  counts: { companies: number; deals: number; owners: number };
  owner(i: number): SeedOwner;
  company(i: number): SeedCompany;
  deal(i: number): SeedDeal;
  /** For a partner company that is a variant of a vendor account: that vendor account's index; else -1. */
  overlapOf(i: number): number;
  owners(): Iterable<SeedOwner>;
  companies(): Iterable<SeedCompany>;
  deals(): Iterable<SeedDeal>;
  /** The closed-deal history (none unless the spec asks for it). */
  history(): Iterable<SeedHistoryDeal>;
  historyDeal(i: number): SeedHistoryDeal;
}

export const SEED_DEFAULTS = { accounts: 200, opportunities: 400, owners: 8 } as const;
const DEFAULT_NOW = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;

// ---------- deterministic randomness ----------

/** 32-bit integer hash (lowbias32); cheap and well mixed, so record i never depends on record i-1. */
function mix(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return mix(h);
}

/** A small PRNG stream for one record (mulberry32 seeded from the record's hash). */
class Rng {
  private s: number;
  constructor(...parts: number[]) {
    let h = 0x9e3779b9;
    for (const p of parts) h = mix((h ^ (p >>> 0)) + 0x6d2b79f5);
    this.s = h;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------- vocabularies ----------

const NAME_A = [
  'Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne', 'Soylent', 'Hooli', 'Vandelay',
  'Massive', 'Dunder', 'Sterling', 'Pied', 'Oscorp', 'Aperture', 'Black Mesa', 'Gringotts', 'Monarch', 'Nakatomi', 'Oceanic',
  'Virtucon', 'Zorg', 'Blue Sun', 'Prestige', 'Wernham', 'Gekko', 'Bluth', 'Kramerica', 'Northwind', 'Contoso', 'Fabrikam',
  'Tailspin', 'Litware', 'Adventure', 'Proseware', 'Lucerne', 'Margie', 'Alpine', 'Coho', 'Fourth', 'Graphic', 'Humongous',
  'Nordic', 'Baltic', 'Atlas', 'Helix', 'Quantum', 'Vertex', 'Summit', 'Pioneer', 'Horizon', 'Keystone', 'Redwood', 'Granite',
  'Silver', 'Cobalt', 'Falcon', 'Orion', 'Polaris', 'Zenith', 'Apex', 'Beacon', 'Cascade', 'Delta', 'Evergreen', 'Frontier',
];
const NAME_B = [
  'Systems', 'Industries', 'Logistics', 'Analytics', 'Software', 'Dynamics', 'Labs', 'Networks', 'Solutions', 'Health',
  'Energy', 'Foods', 'Capital', 'Robotics', 'Media', 'Partners', 'Pharma', 'Materials', 'Motors', 'Retail', 'Telecom',
  'Aerospace', 'Biotech', 'Consulting', 'Security', 'Cloud', 'Data', 'Devices', 'Holdings', 'Group', 'Works', 'Digital',
];
const LEGAL: Record<string, readonly string[]> = {
  US: ['Inc.', 'Corp.', 'Corporation', 'LLC', 'Co.'],
  GB: ['Ltd', 'Limited', 'PLC', 'LLP'],
  DE: ['GmbH', 'AG', 'GmbH & Co. KG'],
  FR: ['SA', 'SAS', 'SARL'],
  NL: ['B.V.', 'N.V.'],
  JP: ['K.K.', 'Co., Ltd.'],
  AU: ['Pty Ltd', 'Ltd'],
  CA: ['Inc.', 'Ltd.', 'Corp.'],
  BR: ['Ltda.', 'S.A.'],
  IN: ['Pvt. Ltd.', 'Ltd.'],
  SE: ['AB'],
  ES: ['S.L.', 'S.A.'],
};
const COUNTRIES: ReadonlyArray<{ code: string; name: string; tld: string; cities: readonly string[]; weight: number }> = [
  { code: 'US', name: 'United States', tld: 'com', cities: ['New York', 'San Francisco', 'Austin', 'Chicago', 'Boston', 'Seattle'], weight: 40 },
  { code: 'GB', name: 'United Kingdom', tld: 'co.uk', cities: ['London', 'Manchester', 'Leeds', 'Edinburgh'], weight: 10 },
  { code: 'DE', name: 'Germany', tld: 'de', cities: ['Berlin', 'Munich', 'Hamburg', 'Frankfurt'], weight: 9 },
  { code: 'FR', name: 'France', tld: 'fr', cities: ['Paris', 'Lyon', 'Toulouse'], weight: 7 },
  { code: 'NL', name: 'Netherlands', tld: 'nl', cities: ['Amsterdam', 'Rotterdam', 'Utrecht'], weight: 4 },
  { code: 'JP', name: 'Japan', tld: 'co.jp', cities: ['Tokyo', 'Osaka'], weight: 5 },
  { code: 'AU', name: 'Australia', tld: 'com.au', cities: ['Sydney', 'Melbourne', 'Brisbane'], weight: 5 },
  { code: 'CA', name: 'Canada', tld: 'ca', cities: ['Toronto', 'Vancouver', 'Montreal'], weight: 6 },
  { code: 'BR', name: 'Brazil', tld: 'com.br', cities: ['São Paulo', 'Rio de Janeiro'], weight: 4 },
  { code: 'IN', name: 'India', tld: 'in', cities: ['Bengaluru', 'Mumbai', 'Pune'], weight: 5 },
  { code: 'SE', name: 'Sweden', tld: 'se', cities: ['Stockholm', 'Gothenburg'], weight: 2 },
  { code: 'ES', name: 'Spain', tld: 'es', cities: ['Madrid', 'Barcelona'], weight: 3 },
];
const COUNTRY_WEIGHT_TOTAL = COUNTRIES.reduce((s, c) => s + c.weight, 0);
/** Industry values shared by both CRMs' picklists (Salesforce Account.Industry standard values). */
export const SEED_INDUSTRIES = [
  'Agriculture', 'Apparel', 'Banking', 'Biotechnology', 'Chemicals', 'Communications', 'Construction', 'Consulting',
  'Education', 'Electronics', 'Energy', 'Engineering', 'Entertainment', 'Environmental', 'Finance', 'Food & Beverage',
  'Government', 'Healthcare', 'Hospitality', 'Insurance', 'Machinery', 'Manufacturing', 'Media', 'Not For Profit',
  'Recreation', 'Retail', 'Shipping', 'Technology', 'Telecommunications', 'Transportation', 'Utilities', 'Other',
] as const;
const FIRST = ['Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kara', 'Luis', 'Mia', 'Noah', 'Olga', 'Priya', 'Quinn', 'Rosa', 'Sam', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Yara', 'Zoe'];
const LAST = ['Anders', 'Baker', 'Chen', 'Diaz', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Kowalski', 'Lopez', 'Müller', 'Nakamura', 'Okafor', 'Patel', 'Rossi', 'Schmidt', 'Tanaka', 'Usman', 'Varga', 'Weber', 'Young', 'Zhang'];
const TITLES = ['Account Executive', 'Senior Account Executive', 'Partner Manager', 'Sales Director', 'Channel Account Manager', 'Solutions Engineer'];
const DEAL_WORDS = ['Platform Expansion', 'Renewal', 'Pilot', 'Migration', 'Enterprise License', 'Data Project', 'Security Upgrade', 'Cloud Rollout', 'Support Add-on', 'Analytics Suite', 'Managed Services', 'Integration'];
export const SEED_DEAL_TYPES = ['New Customer', 'Existing Customer - Upgrade', 'Existing Customer - Replacement', 'Existing Customer - Downgrade'] as const;
export const SEED_LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'] as const;
const QUALIFIERS = ['Pacific', 'Atlantic', 'Nordic', 'Alpine', 'Coastal', 'Central', 'Northern', 'Southern', 'Eastern', 'Western', 'Continental', 'Metro', 'United', 'National', 'International', 'Global', 'Highland', 'Valley', 'Harbor', 'Lakeside'];
const SUBDOMAINS = ['sales', 'shop', 'eu', 'us', 'corp', 'global', 'info'];

// ---------- the company universe ----------

interface Canonical {
  base: string; // e.g. "Acme Analytics"
  slug: string; // e.g. "acmeanalytics"
  country: (typeof COUNTRIES)[number];
  legal: string;
  industry: string;
  employees: number;
  revenue: number;
  city: string;
}

function canonicalCompany(networkSeed: number, u: number): Canonical {
  const r = new Rng(networkSeed, 0xc0, u);
  let w = r.int(COUNTRY_WEIGHT_TOTAL);
  let country = COUNTRIES[0];
  for (const c of COUNTRIES) {
    if (w < c.weight) { country = c; break; }
    w -= c.weight;
  }
  // Names are unique across the universe: the index picks the word pair, a numeral disambiguates wraps.
  const pairs = NAME_A.length * NAME_B.length;
  const p = mix(u % pairs ^ 0x5bd1e995) % pairs;
  const round = Math.floor(u / pairs);
  const a = NAME_A[p % NAME_A.length];
  const b = NAME_B[Math.floor(p / NAME_A.length)];
  // Past the first round of word pairs a regional qualifier (and then a number) keeps names unique.
  const qualifier = round === 0 ? '' : ` ${QUALIFIERS[round % QUALIFIERS.length]}${round >= QUALIFIERS.length ? ` ${Math.floor(round / QUALIFIERS.length) + 1}` : ''}`;
  const base = `${a} ${b}${qualifier}`;
  const slug = base.toLowerCase().replace(/[^a-z0-9]/g, '');
  const size = r.next();
  const employees = Math.max(2, Math.round(Math.exp(2 + size * 9))); // 7 .. ~60k, long tail
  const revenue = Math.round(employees * (80_000 + r.int(170_000)) / 1000) * 1000;
  return { base, slug, country, legal: r.pick(LEGAL[country.code]), industry: r.pick(SEED_INDUSTRIES), employees, revenue, city: r.pick(country.cities) };
}

/** How a partner rep might have typed the same company: other suffix, case, punctuation, domain form. */
function messyVariant(c: Canonical, r: Rng): { name: string; domain: string } {
  const names = [
    `${c.base} ${c.legal}`,
    c.base,
    `${c.base}, ${c.legal}`,
    c.base.toUpperCase(),
    `${c.base} ${r.pick(LEGAL[c.country.code])}`.replace(/\.$/, ''),
    `The ${c.base} ${c.legal}`,
    `${c.base.toLowerCase()} ${c.legal.toLowerCase()}`,
  ];
  const bare = `${c.slug}.${c.country.tld}`;
  const domains = [
    bare,
    `www.${bare}`,
    `${r.pick(SUBDOMAINS)}.${bare}`,
    bare.toUpperCase(),
    `WWW.${bare}`,
    c.country.code === 'US' ? `${c.slug}.io` : `${c.slug}.com`, // a sister domain: same company, other TLD
  ];
  return { name: r.pick(names), domain: r.pick(domains) };
}

// ---------- the generator ----------

export function generateSeed(spec: SeedSpec = {}, opts: SeedOptions): SeedData {
  const role = opts.role ?? 'partner';
  const seed = (spec.seed ?? opts.networkSeed ?? 42) >>> 0;
  const networkSeed = (opts.networkSeed ?? spec.seed ?? 42) >>> 0;
  const orgSalt = hashString(opts.orgId);
  const counts = {
    companies: spec.accounts ?? SEED_DEFAULTS.accounts,
    deals: spec.opportunities ?? SEED_DEFAULTS.opportunities,
    owners: Math.max(1, spec.owners ?? SEED_DEFAULTS.owners),
  };
  const vendorAccounts = opts.vendorAccounts ?? SEED_DEFAULTS.accounts;
  const overlapRate = role === 'vendor' ? 0 : (opts.overlapRate ?? 0.3);
  const now = opts.now ?? DEFAULT_NOW;
  // Partners draw their other companies from the universe above the vendor's accounts (a partner-specific
  // offset, so partners overlap each other a little too, as real partners do).
  const partnerBase = vendorAccounts + (orgSalt % 64) * 1000;

  const check = (what: string, i: number, n: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${what} index ${i} out of range 0..${n - 1} for org ${opts.orgId}`);
  };

  const owner = (i: number): SeedOwner => {
    check('owner', i, counts.owners);
    const r = new Rng(seed, orgSalt, 0x01, i);
    const firstName = r.pick(FIRST);
    const lastName = r.pick(LAST);
    const emailDomain = `${opts.orgId.toLowerCase().replace(/[^a-z0-9]/g, '')}.example.com`;
    return {
      key: `${opts.orgId}-u-${String(i).padStart(4, '0')}`,
      firstName,
      lastName,
      email: `${firstName}.${lastName}.${i}`.toLowerCase().normalize('NFD').replace(/[^a-z0-9.]/g, '') + `@${emailDomain}`,
      title: r.pick(TITLES),
    };
  };

  const overlapOf = (i: number): number => {
    check('company', i, counts.companies);
    if (overlapRate <= 0 || vendorAccounts <= 0) return -1;
    const r = new Rng(seed, orgSalt, 0x02, i);
    if (!r.chance(overlapRate)) return -1;
    return r.int(vendorAccounts);
  };

  const universeIndex = (i: number): number => {
    if (role === 'vendor') return i;
    const v = overlapOf(i);
    return v >= 0 ? v : partnerBase + i;
  };

  const company = (i: number): SeedCompany => {
    const v = overlapOf(i);
    const r = new Rng(seed, orgSalt, 0x03, i);
    const u = universeIndex(i);
    const c = canonicalCompany(networkSeed, u);
    let name: string;
    let domain: string;
    if (role === 'vendor' || v < 0) {
      name = `${c.base} ${c.legal}`;
      domain = r.chance(0.25) ? `www.${c.slug}.${c.country.tld}` : `${c.slug}.${c.country.tld}`;
    } else {
      ({ name, domain } = messyVariant(c, r));
    }
    const websiteForm = r.int(10);
    const website = websiteForm === 0 ? undefined : websiteForm < 5 ? `https://${domain.toLowerCase().startsWith('www.') ? domain : `www.${domain}`}` : websiteForm < 8 ? `http://${domain}/` : domain;
    return {
      key: `${opts.orgId}-c-${String(i).padStart(6, '0')}`,
      canonicalKey: `u-${u}`,
      name,
      domain,
      website,
      country: c.country.name,
      city: c.city,
      industry: c.industry,
      employees: v >= 0 && r.chance(0.3) ? Math.round(c.employees * (0.8 + r.next() * 0.4)) : c.employees,
      annualRevenue: c.revenue,
      ownerIndex: r.int(counts.owners),
      createdAt: now - 730 * DAY + Math.floor(r.next() * 700 * DAY),
    };
  };

  const deal = (i: number): SeedDeal => {
    check('deal', i, counts.deals);
    const r = new Rng(seed, orgSalt, 0x04, i);
    const companyIndex = counts.companies === 0 || r.chance(0.03) ? -1 : r.int(counts.companies);
    // Every stage is represented: the first SEED_STAGES.length deals walk through them, the rest are random
    // with a realistic skew towards early stages and closed deals.
    const stageIndex = i < SEED_STAGES.length ? i : weightedStage(r);
    const closed = SEED_STAGES[stageIndex].closed;
    const closeDate = new Date(now + (closed ? -1 - r.int(365) : 7 + r.int(270)) * DAY).toISOString().slice(0, 10);
    const companyName = companyIndex >= 0 ? canonicalCompany(networkSeed, universeIndex(companyIndex)).base : 'Unassigned';
    return {
      key: `${opts.orgId}-d-${String(i).padStart(7, '0')}`,
      name: `${companyName} - ${r.pick(DEAL_WORDS)}`,
      companyIndex,
      stageIndex,
      amount: Math.round((5_000 + r.next() * r.next() * 495_000) / 100) * 100,
      closeDate,
      ownerIndex: r.int(counts.owners),
      type: r.pick(SEED_DEAL_TYPES),
      leadSource: r.pick(SEED_LEAD_SOURCES),
      createdAt: now - 540 * DAY + Math.floor(r.next() * 530 * DAY),
    };
  };

  const historyCount = spec.history ? (spec.history.deals ?? 640) : 0;
  const historyDeal = (i: number): SeedHistoryDeal => {
    check('history deal', i, historyCount);
    const h = spec.history!;
    const r = new Rng(seed, orgSalt, 0x05, i);
    const days = (h.quarters ?? 8) * 91;
    // Partners on the deal: 40 % direct, 30 % one, 20 % two, 10 % three (as many as configured).
    const roll = r.next();
    const n = Math.min(h.partners.length, roll < 0.4 ? 0 : roll < 0.7 ? 1 : roll < 0.9 ? 2 : 3);
    const winRate = [0.25, 0.33, 0.42, 0.52][n]!;
    const cycle = Math.max(5, Math.round([95, 80, 68, 55][n]! * (0.5 + r.next())));
    const closeAt = now - DAY - Math.floor(r.next() * (days - 1)) * DAY;
    const createdAt = closeAt - cycle * DAY;
    const picked: string[] = [];
    while (picked.length < n) {
      const p = r.pick(h.partners);
      if (!picked.includes(p)) picked.push(p);
    }
    // The first partner sources most deals; the others serve, influence or resell.
    const roles = picked.map((_, k) => (k === 0 ? (r.chance(0.7) ? 'sourcing' : 'influence') : r.pick(['services', 'influence', 'reseller'])));
    const weights = roles.map((role) => ({ sourcing: 60, reseller: 20, services: 15, influence: 5 })[role]!);
    const total = weights.reduce((a, b) => a + b, 0);
    const splits = weights.map((w) => Math.floor((w * 100) / total));
    if (splits.length) splits[0]! += 100 - splits.reduce((a, b) => a + b, 0);
    const companyIndex = counts.companies ? r.int(counts.companies) : -1;
    const companyName = companyIndex >= 0 ? canonicalCompany(networkSeed, universeIndex(companyIndex)).base : 'Unassigned';
    return {
      key: `${opts.orgId}-h-${String(i).padStart(7, '0')}`,
      name: `${companyName} - ${r.pick(DEAL_WORDS)} (history)`,
      companyIndex,
      won: r.chance(winRate),
      amount: Math.round(((10_000 + r.next() * r.next() * 290_000) * (1 + 0.15 * n)) / 100) * 100,
      createdAt,
      closeDate: new Date(closeAt).toISOString().slice(0, 10),
      ownerIndex: r.int(counts.owners),
      attribution: picked.map((p, k) => `${p}:${roles[k]}:${splits[k]}`).join(';'),
      partners: n,
    };
  };

  function* iterate<T>(n: number, f: (i: number) => T): Iterable<T> {
    for (let i = 0; i < n; i++) yield f(i);
  }

  return {
    orgId: opts.orgId,
    role,
    seed,
    counts,
    owner,
    company,
    deal,
    overlapOf,
    owners: () => iterate(counts.owners, owner),
    companies: () => iterate(counts.companies, company),
    deals: () => iterate(counts.deals, deal),
    history: () => iterate(historyCount, historyDeal),
    historyDeal,
  };
}

const STAGE_WEIGHTS = [14, 12, 10, 9, 8, 7, 7, 6, 15, 12];
const STAGE_WEIGHT_TOTAL = STAGE_WEIGHTS.reduce((a, b) => a + b, 0);
function weightedStage(r: Rng): number {
  let w = r.int(STAGE_WEIGHT_TOTAL);
  for (let i = 0; i < STAGE_WEIGHTS.length; i++) {
    if (w < STAGE_WEIGHTS[i]) return i;
    w -= STAGE_WEIGHTS[i];
  }
  return 0;
}
