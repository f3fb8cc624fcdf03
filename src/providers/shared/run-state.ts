/**
 * A provider's state for one run of a case: which target claimed a disk, the sessions and clients
 * whose token records and clock observations go into that run's recorder. The run is its signal
 * (runCollection makes one per run and hands it to every target and selector of that run), so a
 * provider object a library caller reuses for a later run of the case never hands that run the
 * earlier one's claims, sessions or recorder: a later run learns the earlier ones from the ledger.
 */
import type { CaseRecorder } from '../../core/ports.js';

export class RunStates<State> {
  /** Per case id: the run whose state is current, and that state. */
  private readonly current = new Map<string, { run: AbortSignal | undefined; state: State }>();
  private ended: Promise<void> = Promise.resolve();

  /**
   * @param start makes a run's state on its first use, with the recorder and the signal of that
   *   run (a state whose waits must end when the run is stopped listens to it).
   * @param end releases a state once a later run of its case replaced it, or on close.
   */
  constructor(
    private readonly start: (recorder: CaseRecorder, run: AbortSignal | undefined) => State,
    private readonly end: (state: State) => void | Promise<void> = () => {},
  ) {}

  /**
   * The state of `run` for the recorder's case. A run the case has not seen yet starts a new
   * state and ends the earlier run's (one case runs once at a time: its lock). Calls without a
   * signal (a direct `collect` in a test) share one state.
   */
  of(recorder: CaseRecorder, run: AbortSignal | undefined): State {
    const held = this.current.get(recorder.caseId);
    if (held && held.run === run) return held.state;
    if (held) this.retire(held.state);
    const state = this.start(recorder, run);
    this.current.set(recorder.caseId, { run, state });
    return state;
  }

  /** The case's current state, if a run made one (counters read after a run). */
  latest(caseId: string): State | undefined {
    return this.current.get(caseId)?.state;
  }

  /** Every current state (one per case). */
  states(): State[] {
    return [...this.current.values()].map((held) => held.state);
  }

  /** Ends every state, and waits for the ones ended before. */
  async close(): Promise<void> {
    for (const state of this.states()) this.retire(state);
    this.current.clear();
    await this.ended;
  }

  private retire(state: State): void {
    // In turn, and a failed release does not stop the next: nothing waits for it but close().
    this.ended = this.ended.then(() => this.end(state)).catch(() => undefined);
  }
}
