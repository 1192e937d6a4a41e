import { childLogger, errorFields } from '../../shared/observability/log';
import { demoUpstreams } from '../upstreams';
import { startDemoUpstreams } from './demo-upstreams';
import { GatewayStartError } from './listen';

/**
 * Only the demo upstreams, on their fixed 127.0.0.1 ports: what docker-compose runs next to Kong (sharing Kong's
 * network namespace, so kong.yml's http://127.0.0.1:<port> services reach them as in the dev gateway).
 */
const log = childLogger({ component: 'demo-upstreams' });

async function main(): Promise<void> {
  const running = await startDemoUpstreams(demoUpstreams, false, log);
  log.info({ upstreams: running.map((u) => ({ name: u.name, url: `http://127.0.0.1:${u.port}` })) }, 'demo upstreams listening');
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping demo upstreams');
    void Promise.all(running.map((u) => u.close())).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  if (err instanceof GatewayStartError) process.stderr.write(`demo-upstreams: ${err.message}\n`);
  log.fatal(errorFields(err), 'demo upstreams failed to start');
  process.exit(1);
});
