import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../shared/observability/log';

/**
 * The Kubernetes list+watch protocol for security.istio.io/v1 AuthorizationPolicy, RequestAuthentication and
 * PeerAuthentication (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
 * LIST to get the objects and a resourceVersion, then WATCH from it (newline-delimited JSON events ADDED, MODIFIED,
 * DELETED, BOOKMARK, ERROR); a closed stream resumes from the last resourceVersion, a 410 Gone relists.
 * A small client on node:http(s) rather than @kubernetes/client-node: it needs only these two calls.
 */
export interface KubernetesSourceOptions {
  apiServer: string;
  token?: string;
  tokenFile?: string;
  caFile?: string;
  /** Unset: cluster-wide. */
  namespaces?: string[];
}

export const WATCHED = ['authorizationpolicies', 'requestauthentications', 'peerauthentications'] as const;

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: { kind?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string }; code?: number; message?: string };
}

interface Listener {
  changed(): void;
  failed(problem: string): void;
}

export class KubernetesWatch {
  private readonly store = new Map<string, unknown>();
  private readonly requests = new Set<http.ClientRequest>();
  private stopped = false;

  constructor(
    private readonly options: KubernetesSourceOptions,
    private readonly log: Logger,
    private readonly listener: Listener,
  ) {}

  objects(): IterableIterator<[string, unknown]> {
    return this.store.entries();
  }

  start(): void {
    for (const resource of WATCHED) for (const ns of this.options.namespaces ?? [undefined]) void this.run(resource, ns);
  }

  stop(): void {
    this.stopped = true;
    for (const r of this.requests) r.destroy();
  }

  private collectionPath(resource: string, ns: string | undefined): string {
    return ns ? `/apis/security.istio.io/v1/namespaces/${encodeURIComponent(ns)}/${resource}` : `/apis/security.istio.io/v1/${resource}`;
  }

  private async run(resource: string, ns: string | undefined): Promise<void> {
    let resourceVersion: string | undefined;
    let backoff = 100;
    while (!this.stopped) {
      try {
        if (resourceVersion === undefined) resourceVersion = await this.list(resource, ns);
        resourceVersion = await this.watch(resource, ns, resourceVersion);
        backoff = 100;
      } catch (err) {
        if ((err as { gone?: boolean }).gone) resourceVersion = undefined;
        else {
          if (this.stopped) return;
          this.listener.failed(`${resource}${ns ? ` in ${ns}` : ''}: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, backoff).unref());
          backoff = Math.min(backoff * 2, 10_000);
        }
      }
    }
  }

  private key(resource: string, o: WatchEvent['object']): string {
    return `${resource}/${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
  }

  private async list(resource: string, ns: string | undefined): Promise<string> {
    const body = await this.get(this.collectionPath(resource, ns));
    const list = JSON.parse(body) as { metadata?: { resourceVersion?: string }; items?: WatchEvent['object'][] };
    const prefix = `${resource}/${ns ? `${ns}/` : ''}`;
    for (const k of [...this.store.keys()]) if (k.startsWith(prefix)) this.store.delete(k);
    const kind = { authorizationpolicies: 'AuthorizationPolicy', requestauthentications: 'RequestAuthentication', peerauthentications: 'PeerAuthentication' }[resource];
    for (const item of list.items ?? []) this.store.set(this.key(resource, item), { apiVersion: 'security.istio.io/v1', kind, ...item });
    this.listener.changed();
    return list.metadata?.resourceVersion ?? '0';
  }

  private watch(resource: string, ns: string | undefined, from: string): Promise<string> {
    let resourceVersion = from;
    const kind = { authorizationpolicies: 'AuthorizationPolicy', requestauthentications: 'RequestAuthentication', peerauthentications: 'PeerAuthentication' }[resource];
    return new Promise((resolve, reject) => {
      const req = this.request(`${this.collectionPath(resource, ns)}?watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(from)}`, (res) => {
        if (res.statusCode === 410) return reject(Object.assign(new Error('resourceVersion too old'), { gone: true }));
        if (res.statusCode !== 200) return reject(new Error(`watch answered ${res.statusCode}`));
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (!line) continue;
            let event: WatchEvent;
            try {
              event = JSON.parse(line) as WatchEvent;
            } catch {
              this.log.warn({ event: 'istio_watch_bad_line', resource }, 'unparseable watch event');
              continue;
            }
            if (event.type === 'ERROR') {
              req.destroy();
              if (event.object.code === 410) return reject(Object.assign(new Error('resourceVersion too old'), { gone: true }));
              return reject(new Error(`watch error ${event.object.code ?? ''} ${event.object.message ?? ''}`));
            }
            if (event.object.metadata?.resourceVersion) resourceVersion = event.object.metadata.resourceVersion;
            if (event.type === 'BOOKMARK') continue;
            const key = this.key(resource, event.object);
            if (event.type === 'DELETED') this.store.delete(key);
            else this.store.set(key, { apiVersion: 'security.istio.io/v1', kind, ...event.object });
            this.listener.changed();
          }
        });
        res.on('end', () => resolve(resourceVersion));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  private get(pathname: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = this.request(pathname, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`list answered ${res.statusCode}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  private request(pathname: string, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const url = new URL(pathname, this.options.apiServer);
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = this.options.token ?? readIfPresent(this.options.tokenFile)?.trim();
    if (token) headers.Authorization = `Bearer ${token}`;
    const ca = readIfPresent(this.options.caFile);
    const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers, ...(ca ? { ca } : {}) }, onResponse);
    this.requests.add(req);
    req.on('close', () => this.requests.delete(req));
    req.end();
    return req;
  }
}

function readIfPresent(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
