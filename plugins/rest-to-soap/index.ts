import { definePlugin } from '../../shared/plugin';
import { RestToSoapHandler } from './handler';
import { checks, fields } from './schema';

/**
 * rest-to-soap: a JSON REST face for a SOAP service, driven by its WSDL 1.1. Each operation is a REST route; the
 * JSON body (plus path and query parameters) is validated against the XSD and written as the SOAP envelope, and the
 * SOAP answer comes back as JSON typed by the XSD, faults as problem+json. Priority 750: after authentication
 * and rate limiting (which see the REST request), late enough that request-transforming plugins ran first.
 * Fail-closed: a JSON body must never reach a SOAP service untranslated.
 */
export const { Plugin, Name, Version, Priority, Schema, schema, checkConfig } = definePlugin({
  name: 'rest-to-soap',
  version: '1.0.0',
  priority: 750,
  fields,
  checks,
  failurePolicy: 'fail_closed',
  Handler: RestToSoapHandler,
});
