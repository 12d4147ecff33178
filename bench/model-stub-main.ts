/**
 * The model stub as its own process: prints `ready <baseURL>` on stdout, stops on SIGTERM or when
 * its parent goes away (stdin closes).
 */
import { startModelStub } from './model-stub';

startModelStub({ port: Number(process.env.BENCH_STUB_PORT ?? 0) }).then(
  (stub) => {
    console.log(`ready ${stub.baseURL}`);
    const stop = () => void stub.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
