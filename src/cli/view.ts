/** Turns progress events into terminal progress bars (cli-progress) or plain log lines. */
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../util/progress.js';

export class ProgressView {
  private multi: cliProgress.MultiBar | null;
  private bars = new Map<string, cliProgress.SingleBar>();
  private readonly tty: boolean;

  constructor(private quiet = false) {
    this.tty = !!process.stderr.isTTY && !quiet;
    this.multi = this.tty
      ? new cliProgress.MultiBar(
          {
            stream: process.stderr,
            format: ' {label} |{bar}| {percentage}% {value}/{total} {info} eta {eta_formatted}',
            barCompleteChar: '█',
            barIncompleteChar: '░',
            hideCursor: true,
            clearOnComplete: false,
            stopOnComplete: false,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  }

  handle = (e: ProgressEvent): void => {
    if (this.quiet && e.kind !== 'log') return;
    switch (e.kind) {
      case 'start':
        if (this.multi) this.bars.set(e.id, this.multi.create(e.total, 0, { label: e.label.padEnd(28), info: '' }));
        break;
      case 'tick':
        this.bars.get(e.id)?.update(e.value, { info: e.info ?? '' });
        break;
      case 'stop': {
        const b = this.bars.get(e.id);
        if (b) {
          b.stop();
          this.bars.delete(e.id);
        }
        break;
      }
      case 'log':
        if (this.multi) this.multi.log(e.text + '\n');
        else process.stderr.write(e.text + '\n');
        break;
    }
  };

  close(): void {
    this.multi?.stop();
  }
}
