/**
 * Deal pipelines. The default pipeline is HubSpot's own "Sales Pipeline"; `hs_is_closed_won/lost`,
 * `hs_is_closed` and `hs_deal_stage_probability` are derived from the stage's metadata on every write.
 */
export interface StageDef {
  id: string;
  label: string;
  displayOrder: number;
  probability: number; // 0..1
  isClosed: boolean;
}

export interface PipelineDef {
  id: string;
  label: string;
  displayOrder: number;
  stages: StageDef[];
}

const CREATED = '2019-08-06T02:43:14.491Z';

export const DEFAULT_PIPELINE: PipelineDef = {
  id: 'default',
  label: 'Sales Pipeline',
  displayOrder: 0,
  stages: [
    { id: 'appointmentscheduled', label: 'Appointment Scheduled', displayOrder: 0, probability: 0.2, isClosed: false },
    { id: 'qualifiedtobuy', label: 'Qualified To Buy', displayOrder: 1, probability: 0.4, isClosed: false },
    { id: 'presentationscheduled', label: 'Presentation Scheduled', displayOrder: 2, probability: 0.6, isClosed: false },
    { id: 'decisionmakerboughtin', label: 'Decision Maker Bought-In', displayOrder: 3, probability: 0.8, isClosed: false },
    { id: 'contractsent', label: 'Contract Sent', displayOrder: 4, probability: 0.9, isClosed: false },
    { id: 'closedwon', label: 'Closed Won', displayOrder: 5, probability: 1, isClosed: true },
    { id: 'closedlost', label: 'Closed Lost', displayOrder: 6, probability: 0, isClosed: true },
  ],
};

export function isWon(s: StageDef): boolean {
  return s.isClosed && s.probability >= 1;
}
export function isLost(s: StageDef): boolean {
  return s.isClosed && s.probability <= 0;
}

export function stageJson(s: StageDef): Record<string, unknown> {
  return {
    label: s.label, displayOrder: s.displayOrder,
    metadata: { isClosed: String(s.isClosed), probability: String(s.probability) },
    id: s.id, createdAt: CREATED, updatedAt: CREATED, archived: false, writePermissions: 'CRM_PERMISSIONS_ENFORCEMENT',
  };
}

export function pipelineJson(p: PipelineDef): Record<string, unknown> {
  return { label: p.label, displayOrder: p.displayOrder, id: p.id, stages: p.stages.map(stageJson), createdAt: CREATED, updatedAt: CREATED, archived: false };
}

/** Pipelines from OrgConfig.schema.pipelines (same JSON shape as the API's, loosely), after the default one. */
export function pipelinesFromSchema(raw: unknown): PipelineDef[] {
  if (!Array.isArray(raw)) return [DEFAULT_PIPELINE];
  const extra = raw.map((p: any, i: number): PipelineDef => ({
    id: String(p.id),
    label: String(p.label ?? p.id),
    displayOrder: i + 1,
    stages: (Array.isArray(p.stages) ? p.stages : []).map((s: any, j: number): StageDef => ({
      id: String(s.id),
      label: String(s.label ?? s.id),
      displayOrder: j,
      probability: Number(s.probability ?? s.metadata?.probability ?? 0),
      isClosed: String(s.isClosed ?? s.metadata?.isClosed ?? 'false') === 'true',
    })),
  }));
  return [DEFAULT_PIPELINE, ...extra.filter((p) => p.id !== 'default')];
}
