import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATES, NOTIFICATION_KINDS, render, TEMPLATE_VARS } from '../../notify/render.js';
import { namesOtherPartner } from '../../rules/partnerReasons.js';
import { notificationsSchema } from '../../notify/config.js';

const PARTNERS = [
  { id: 'acme', name: 'Acme Consulting' },
  { id: 'globex', name: 'Globex Integrators' },
  { id: 'initech', name: 'Initech Partners' },
];

/** Ways a person's text (or a template) can carry another partner: any case, inside punctuation, registration ids, full names. */
const leak = fc.tuple(fc.constantFrom('globex', 'GLOBEX', 'Globex Integrators', 'globex:300000017', '(initech)', 'Initech Partners.', 'initech-opps'), fc.constantFrom('', ' ', '"', ':', '\n', '\u00a0'));

describe('notification rendering never names another partner (property)', () => {
  it('whatever the message, variables and template say, a sent text names only the registration\'s own partner', () => {
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`notification leak property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/notify/render.property.test.ts)`);
    fc.assert(
      fc.property(
        fc.constantFrom(...NOTIFICATION_KINDS),
        fc.array(fc.oneof(fc.string({ maxLength: 12 }), leak.map(([l, p]) => `${p}${l}${p}`)), { maxLength: 5 }).map((xs) => xs.join(' ')),
        fc.dictionary(fc.constantFrom('status', 'dueAt', 'owner', 'expiresAt'), fc.oneof(fc.string({ maxLength: 8 }), leak.map(([l]) => l))),
        fc.option(fc.array(fc.oneof(fc.constantFrom(...TEMPLATE_VARS.map((v) => `{{${v}}}`)), fc.string({ maxLength: 8 }), leak.map(([l]) => l)), { minLength: 1, maxLength: 6 }).map((xs) => xs.join(' ')), { nil: undefined }),
        (kind, message, vars, template) => {
          const out = render(template ?? DEFAULT_TEMPLATES[kind], { kind, registrationId: 'acme:42', partnerId: 'acme', message, vars }, PARTNERS);
          if (!out.ok) return; // withheld: nothing is sent
          expect(namesOtherPartner(out.text, 'acme', PARTNERS)).toBeUndefined();
          for (const other of ['globex', 'initech']) expect(out.text.toLowerCase()).not.toMatch(new RegExp(`(^|[^a-z0-9])${other}([^a-z0-9]|$)`));
        },
      ),
      { numRuns: 2000, seed },
    );
  });

  it('kept examples: the partner\'s own name and id pass; a scrubbed message falls back to the neutral summary; a template naming a partner is withheld', () => {
    expect(render(DEFAULT_TEMPLATES.decided, { kind: 'decided', registrationId: 'acme:1', partnerId: 'acme', message: 'approved by cam' }, PARTNERS)).toEqual({ ok: true, scrubbed: false, text: 'Registration acme:1 from Acme Consulting was decided: approved by cam' });
    expect(render(DEFAULT_TEMPLATES.decided, { kind: 'decided', registrationId: 'acme:1', partnerId: 'acme', message: 'rejected: Globex was first' }, PARTNERS)).toEqual({ ok: true, scrubbed: true, text: 'Registration acme:1 from Acme Consulting was decided: a decision was made.' });
    expect(render('Tell globex about {{registration}}', { kind: 'decided', registrationId: 'acme:1', partnerId: 'acme', message: 'x' }, PARTNERS).ok).toBe(false);
  });

  it('configuration: unknown placeholders and secrets written as values are refused', () => {
    expect(notificationsSchema.safeParse({ templates: { decided: 'Hi {{partnr}}' } }).success).toBe(false);
    expect(notificationsSchema.safeParse({ channels: [{ id: 's', kind: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }] }).success).toBe(false);
    expect(notificationsSchema.safeParse({ channels: [{ id: 'm', kind: 'email' }] }).success).toBe(false);
    expect(notificationsSchema.safeParse({ channels: [{ id: 's', kind: 'slack', url: 'env:SLACK' }], templates: { decided: '{{registration}} {{ message }}' } }).success).toBe(true);
  });
});
