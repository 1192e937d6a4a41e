import { CommanderError } from 'commander';
import { childLogger, errorFields } from '../../shared/observability/log';
import { formatBanner } from './banner';
import { startGateway, type RunningGateway } from './gateway';
import { GatewayStartError } from './listen';
import { parseOptions, type GatewayOptions } from './options';

const log = childLogger({ component: 'dev-gateway' });
/** A signal repeated within this window is the same Ctrl-C seen twice, not a request to exit at once. */
const DUPLICATE_SIGNAL_MS = 1000;

function options(): GatewayOptions {
  try {
    return parseOptions(process.argv.slice(2));
  } catch (err) {
    // commander has already printed help, the version or the usage error on its own; a bad KONG_DEV_* variable
    // (EnvironmentError) is printed here, naming the variable and its value
    if (err instanceof CommanderError) process.exit(err.exitCode);
    process.stderr.write(`kong-dev-gateway: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

function stopOnSignals(gateway: RunningGateway): void {
  let stoppingSince: number | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C under `npm start` delivers SIGINT twice: once to the process group, once more forwarded by npm
      if (Date.now() - stoppingSince < DUPLICATE_SIGNAL_MS) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'stopping dev gateway');
    gateway.close().then(
      () => {
        log.info('dev gateway stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error(errorFields(err), 'dev gateway did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function main(): Promise<void> {
  const opts = options();
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(opts, log, { serverOutput: (text) => process.stderr.write(text) });
  } catch (err) {
    if (err instanceof GatewayStartError) {
      log.fatal({ reason: err.message }, 'dev gateway failed to start');
      process.stderr.write(`\nkong-dev-gateway: ${err.message}\n`);
    } else {
      log.fatal(errorFields(err), 'dev gateway failed to start');
    }
    process.exit(1);
  }
  stopOnSignals(gateway);
  log.info({ ...gateway.summary }, 'dev gateway listening');
  process.stderr.write(formatBanner(gateway.summary));
}

void main();
