/** `dk serve`: the "look inside" / "distil here" page over a run directory, on 127.0.0.1 (src/web/serve.ts). */
import type { Command } from 'commander';
import { UsageError } from '../../util/errors.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("serve the page over a dk paper run on 127.0.0.1: 'look inside' (draw a digit, see the teacher's and the student's softmax(z/T) side by side) and 'distil here' (train a student in the browser from the run's teacher outputs)")
    .option('--dir <dir>', 'the run directory (written by dk paper / npm start)', 'runs/paper')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', '8737')
    .action(async (o: { dir: string; port: string }) => {
      if (!/^\d+$/.test(o.port)) throw new UsageError(`--port: expected an integer 0..65535, got '${o.port}'`);
      const { serveRun } = await import('../../web/serve.js');
      const s = await serveRun({ dir: o.dir, port: Number(o.port) });
      process.stdout.write(`dk serve: ${s.url} (run ${o.dir}; Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = () => void s.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
