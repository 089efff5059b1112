/**
 * Progress reporting from long jobs, independent of how it is shown: the CLI turns these
 * events into progress bars (in the main thread, while the job runs in a worker); library users
 * and tests can pass their own sink or none.
 */
export type ProgressEvent =
  | { kind: 'start'; id: string; label: string; total: number }
  | { kind: 'tick'; id: string; value: number; info?: string }
  | { kind: 'stop'; id: string }
  | { kind: 'log'; text: string };

export type ProgressSink = (e: ProgressEvent) => void;

export const silent: ProgressSink = () => {};

/** A small helper around a sink for one phase. */
export class Phase {
  private last = 0;
  constructor(
    private sink: ProgressSink,
    readonly id: string,
    label: string,
    readonly total: number,
  ) {
    sink({ kind: 'start', id, label, total });
  }
  tick(value: number, info?: string): void {
    const now = Date.now();
    if (value < this.total && now - this.last < 100) return; // throttle
    this.last = now;
    this.sink({ kind: 'tick', id: this.id, value, info });
  }
  stop(): void {
    this.sink({ kind: 'tick', id: this.id, value: this.total });
    this.sink({ kind: 'stop', id: this.id });
  }
}
