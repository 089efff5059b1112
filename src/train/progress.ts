/** Turns training events into progress events: one bar per epoch and a log line per epoch. */
import { Phase, type ProgressSink } from '../util/progress.js';
import type { TrainEvent } from './trainer.js';

/** Progress sink adapter: epoch bar and per-epoch log lines (`evalNames`: how to call EpochEvent.evals). */
export function trainingProgress(progress: ProgressSink, label: string, epochs: number, evalNames: readonly string[] = []) {
  let phase: Phase | null = null;
  return (e: TrainEvent) => {
    if (e.type === 'step') {
      if (!phase || e.step === 1) {
        phase?.stop();
        phase = new Phase(progress, `${label}-e${e.epoch}`, `${label} epoch ${e.epoch}/${epochs}`, e.stepsPerEpoch);
      }
      phase.tick(e.step, `loss ${e.loss.toFixed(4)}`);
    } else {
      phase?.stop();
      phase = null;
      const held = (e.evals ?? []).map((v, i) => ` ${evalNames[i] ?? `eval ${i + 1}`} errors ${v.errors}/${v.total}`).join('');
      const t = `${held}${e.test ? ` test errors ${e.test.errors}/${e.test.total} (${(100 * e.test.accuracy).toFixed(2)}%)` : ''}`;
      progress({ kind: 'log', text: `${label} epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(4)}${Number.isNaN(e.trainAccuracy) ? '' : ` train acc ${(100 * e.trainAccuracy).toFixed(2)}%`}${t} — ${e.seconds.toFixed(1)} s, ${Math.round(e.samplesPerSec)} samples/s` });
    }
  };
}

