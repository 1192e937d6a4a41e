/**
 * Plugins bundled with Kong Gateway 3.9 (kong/constants.lua). kong.yml may configure them; they run in Kong only,
 * so the dev gateway reports and skips them instead of calling them unknown.
 */
export const KONG_BUNDLED_PLUGINS: ReadonlySet<string> = new Set([
  'jwt', 'acl', 'correlation-id', 'cors', 'oauth2', 'tcp-log', 'udp-log', 'file-log', 'http-log', 'key-auth',
  'hmac-auth', 'basic-auth', 'ip-restriction', 'request-transformer', 'response-transformer', 'request-size-limiting',
  'rate-limiting', 'response-ratelimiting', 'syslog', 'loggly', 'datadog', 'ldap-auth', 'statsd', 'bot-detection',
  'aws-lambda', 'request-termination', 'prometheus', 'proxy-cache', 'session', 'acme', 'grpc-gateway', 'grpc-web',
  'pre-function', 'post-function', 'azure-functions', 'zipkin', 'opentelemetry', 'ai-proxy', 'ai-prompt-decorator',
  'ai-prompt-template', 'ai-prompt-guard', 'ai-request-transformer', 'ai-response-transformer', 'standard-webhooks',
  'redirect',
]);
