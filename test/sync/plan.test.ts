import { describe, expect, it } from 'vitest';
import { planWrite } from '../../sync/plan.js';
import { hashFields, normalizeValue } from '../../sync/values.js';

describe('value normalisation', () => {
  it('makes HubSpot strings and Salesforce JSON comparable', () => {
    expect(normalizeValue('5000')).toBe(5000);
    expect(normalizeValue(5000.0)).toBe(5000);
    expect(normalizeValue('2026-11-22T00:00:00.000Z')).toBe('2026-11-22');
    expect(normalizeValue('2026-11-22T10:15:30.000+0000')).toBe('2026-11-22T10:15:30.000Z');
    expect(normalizeValue('')).toBeNull();
    expect(normalizeValue('true')).toBe(true);
    expect(normalizeValue(' Acme ')).toBe('Acme');
    expect(normalizeValue('00123456789012345678')).toBe('00123456789012345678'); // ids stay strings
  });

  it('hashes independently of key order and representation', () => {
    expect(hashFields({ a: '1', b: 'x' })).toBe(hashFields({ b: 'x', a: 1 }));
    expect(hashFields({ a: 1 })).not.toBe(hashFields({ a: 2 }));
  });
});

describe('planWrite', () => {
  it('writes everything on create', () => {
    const p = planWrite({ Name: 'Deal', Amount: 5 }, undefined, {});
    expect(p.write).toEqual({ Name: 'Deal', Amount: 5 });
    expect(p.conflicts).toEqual([]);
  });

  it('writes only changed fields, and nothing for an echo', () => {
    const target = { fields: { Name: 'Deal', Amount: 5000, CloseDate: '2026-12-01' } };
    expect(planWrite({ Name: 'Deal', Amount: '5000', CloseDate: '2026-12-01T00:00:00Z' }, target, {}).write).toEqual({});
    const p = planWrite({ Name: 'Deal', Amount: 6000 }, target, {});
    expect(p.write).toEqual({ Amount: 6000 });
    expect(p.before).toEqual({ Amount: 5000 });
  });

  it('applies per-field owners and reports the conflicts it settled', () => {
    const target = { fields: { StageName: 'Negotiation/Review', NextStep: null, Description: 'old' }, modifiedAt: '2026-01-02T00:00:00.000Z' };
    const p = planWrite(
      { StageName: 'Qualification', NextStep: 'call', Description: 'new' },
      target,
      { StageName: { owner: 'target' }, NextStep: { owner: 'fill-if-blank' }, Description: { owner: 'newest' } },
      '2026-01-01T00:00:00.000Z',
    );
    expect(p.write).toEqual({ NextStep: 'call' });
    expect(p.conflicts.map((c) => [c.field, c.resolution])).toEqual([
      ['StageName', 'target'],
      ['Description', 'target'],
    ]);
    const newer = planWrite({ Description: 'new' }, target, { Description: { owner: 'newest' } }, '2026-01-03T00:00:00.000Z');
    expect(newer.write).toEqual({ Description: 'new' });
    expect(newer.conflicts[0]).toMatchObject({ field: 'Description', resolution: 'source' });
  });

  it('target-owned fields are still set when the record is created', () => {
    expect(planWrite({ StageName: 'Prospecting' }, undefined, { StageName: { owner: 'target' } }).write).toEqual({ StageName: 'Prospecting' });
  });
});
