import type { ClockCommand, ClockState } from './types.js';

/**
 * An org's clock. Normally real time; tests can freeze it (so thousands of writes share one
 * SystemModstamp, the cursor edge case), jump it, or advance it (token expiry, rolling limits).
 * It never goes backwards while running, so timestamps stay monotonic as in a real org.
 */
export class SandboxClock {
  private offsetMs = 0;
  private frozenAt: number | undefined;
  private last = 0;

  now(): number {
    if (this.frozenAt !== undefined) return this.frozenAt;
    const t = Date.now() + this.offsetMs;
    this.last = Math.max(this.last, t);
    return this.last;
  }

  apply(cmd: ClockCommand): ClockState {
    if (cmd.at !== undefined) {
      const at = Date.parse(cmd.at);
      if (Number.isNaN(at)) throw new RangeError(`clock: "at" is not an ISO instant: ${cmd.at}`);
      if (this.frozenAt !== undefined) this.frozenAt = at;
      this.offsetMs = at - Date.now();
      this.last = at;
    }
    if (cmd.advanceMs !== undefined) {
      if (this.frozenAt !== undefined) this.frozenAt += cmd.advanceMs;
      this.offsetMs += cmd.advanceMs;
    }
    // Frozen "at" an instant means exactly that instant, not the millisecond the command took to run.
    if (cmd.freeze === true && this.frozenAt === undefined) this.frozenAt = cmd.at !== undefined ? Date.parse(cmd.at) + (cmd.advanceMs ?? 0) : this.now();
    if (cmd.freeze === false && this.frozenAt !== undefined) {
      this.offsetMs = this.frozenAt - Date.now();
      this.last = this.frozenAt;
      this.frozenAt = undefined;
    }
    return this.state();
  }

  state(): ClockState {
    return { now: new Date(this.now()).toISOString(), frozen: this.frozenAt !== undefined };
  }
}
