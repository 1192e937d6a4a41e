import { definePlugin } from '../../shared/plugin';
import { RequestGuardHandler } from './handler';
import { checks, fields } from './schema';

/**
 * request-guard: validates requests against the route's OpenAPI 3.0/3.1 document (operation by method + path
 * template; path, query, header and cookie parameters with their styles; content type; JSON and urlencoded bodies)
 * or an inline JSON Schema, enforces structural limits before parsing, and detects injection (SQL, NoSQL, command,
 * path traversal, CRLF, XSS) on decoded values with linear-time scanners, each category off, log-only or blocking.
 * Answers are RFC 9457 problems listing every violation with its location. Priority 930: after authentication,
 * before version-deprecation (920) and tenant-quota (910), so rejected requests spend no quota. Fail-closed: an
 * unexpected error answers 500 rather than letting an unchecked request through (when the plugin server is down,
 * Kong itself continues: see the README).
 */
export const { Plugin, Name, Version, Priority, Schema, schema, checkConfig } = definePlugin({
  name: 'request-guard',
  version: '1.0.0',
  priority: 930,
  fields,
  checks,
  failurePolicy: 'fail_closed',
  Handler: RequestGuardHandler,
});
