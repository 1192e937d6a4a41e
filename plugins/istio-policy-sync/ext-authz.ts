import http from 'node:http';
import { compileString, type Matcher } from '../../shared/istio/match';
import { isFramingHeader, type HeaderInput } from '../../shared/pdk';
import type { ExtAuthzHttpConfig } from './schema';

/**
 * A CUSTOM policy's provider, called as Envoy's HTTP ext_authz filter calls it under Istio's
 * envoyExtAuthzHttp (https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#MeshConfig-ExtensionProvider-EnvoyExternalAuthorizationHttpProvider,
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/ext_authz_filter):
 * same method, path = pathPrefix + original path and query, no body; the Host and the allowed headers (Authorization
 * when includeRequestHeadersInCheck is unset) plus includeAdditionalHeadersInCheck. 200 = allow (headersToUpstreamOnAllow
 * go upstream); any other status = deny with that status, body and headersToDownstreamOnDeny; a network error or
 * timeout = deny with statusOnError, or allow when failOpen.
 */

export interface CheckRequest {
  method: string;
  /** Path and query as the workload receives them. */
  pathWithQuery: string;
  host: string | undefined;
  headers: Record<string, string[]>;
}

export type CheckResult =
  | { kind: 'allow'; upstreamHeaders: HeaderInput; downstreamHeaders: HeaderInput }
  | { kind: 'deny'; status: number; body: string; downstreamHeaders: HeaderInput }
  | { kind: 'error'; failOpen: boolean; status: number; reason: string };

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export class ExtAuthzProvider {
  private readonly allowHeader: Matcher;
  private readonly upstream: Matcher;
  private readonly downstreamDeny: Matcher;
  private readonly downstreamAllow: Matcher;
  private readonly c: { timeout: number; failOpen: boolean; statusOnError: number; pathPrefix: string; additional: Record<string, string> };

  constructor(
    readonly name: string,
    private readonly config: ExtAuthzHttpConfig,
  ) {
    const headers = (list: string[] | null | undefined, fallback: string[] = []): Matcher => {
      const ms = (list ?? fallback).map((h) => compileString(h.toLowerCase(), true));
      return (v) => ms.some((m) => m(v));
    };
    this.allowHeader = headers(config.include_request_headers_in_check, ['authorization']);
    this.upstream = headers(config.headers_to_upstream_on_allow);
    this.downstreamDeny = headers(config.headers_to_downstream_on_deny);
    this.downstreamAllow = headers(config.headers_to_downstream_on_allow);
    // Kong fills defaults inside array elements (required records too); ajv may not: Istio's defaults then
    this.c = {
      timeout: config.timeout_ms ?? 5000,
      failOpen: config.fail_open ?? false,
      statusOnError: config.status_on_error ?? 403,
      pathPrefix: config.path_prefix ?? '',
      additional: config.include_additional_headers_in_check ?? {},
    };
  }

  check(request: CheckRequest): Promise<CheckResult> {
    const headers: Record<string, string> = {};
    for (const [name, values] of Object.entries(request.headers)) {
      if (name === 'host' || name === 'content-length' || name === 'transfer-encoding') continue;
      if (this.allowHeader(name)) headers[name] = values.join(',');
    }
    for (const [k, v] of Object.entries(this.c.additional)) headers[k.toLowerCase()] = v;
    if (request.host) headers.host = request.host;
    headers['content-length'] = '0';
    return new Promise((resolve) => {
      const fail = (reason: string) => resolve({ kind: 'error', failOpen: this.c.failOpen, status: this.c.statusOnError, reason });
      const req = http.request(
        { host: this.config.service, port: this.config.port, method: request.method, path: this.c.pathPrefix + request.pathWithQuery, headers, agent, timeout: this.c.timeout },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => fail(err.message));
          res.on('end', () => {
            const pick = (m: Matcher) => {
              const out: HeaderInput = {};
              // the provider's framing describes its own message, never the request or the answer they land on; Node
              // joins repeated headers with ", " but keeps Set-Cookie an array, which stays one header per cookie
              for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && m(k) && !isFramingHeader(k)) out[k] = v;
              return out;
            };
            if (res.statusCode === 200) resolve({ kind: 'allow', upstreamHeaders: pick(this.upstream), downstreamHeaders: pick(this.downstreamAllow) });
            else resolve({ kind: 'deny', status: res.statusCode ?? 403, body: Buffer.concat(chunks).toString('utf8'), downstreamHeaders: pick(this.downstreamDeny) });
          });
        },
      );
      req.on('timeout', () => {
        req.destroy();
        fail(`timeout after ${this.c.timeout} ms`);
      });
      req.on('error', (err) => fail(err.message));
      req.end();
    });
  }
}
