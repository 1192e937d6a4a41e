import { field, type InferFields } from '../../shared/schema';
import { templateParams } from './routes';
import { Translator } from './translator';
import { compileService, type ServiceModel } from './wsdl/operations';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const limitFields = {
  max_request_body_bytes: field.integer({ default: 1_048_576, between: [1, 67_108_864], description: 'Largest JSON request body read (413 above it).' }),
  max_response_body_bytes: field.integer({ default: 8_388_608, between: [1, 268_435_456], description: 'Largest upstream SOAP answer translated (502 above it).' }),
  max_depth: field.integer({ default: 64, between: [2, 1024], description: 'Deepest element nesting accepted in an upstream SOAP answer.' }),
  max_elements: field.integer({ default: 100_000, between: [1, 10_000_000], description: 'Most elements accepted in an upstream SOAP answer.' }),
  max_attributes: field.integer({ default: 64, between: [0, 10_000], description: 'Most attributes accepted on one element (namespace declarations not counted).' }),
  max_namespaces: field.integer({ default: 32, between: [0, 10_000], description: 'Most namespace declarations accepted on one element.' }),
  max_name_length: field.integer({ default: 256, between: [1, 65_536], description: 'Longest element or attribute name accepted (prefix included).' }),
  max_text_length: field.integer({ default: 1_048_576, between: [1, 268_435_456], description: 'Longest text node or attribute value accepted.' }),
};

export const fields = {
  wsdl_path: field.string({ len_max: 4096, description: 'Path of the WSDL 1.1 file on the plugin server host (relative: to the suite install root); its wsdl:import, xsd:import and xsd:include are read relative to it.' }),
  wsdl_inline: field.string({ len_max: 16_777_216, description: 'The WSDL 1.1 document itself (instead of wsdl_path); relative imports resolve against wsdl_base_dir.' }),
  wsdl_base_dir: field.string({ len_max: 4096, description: 'Directory the relative imports of wsdl_inline resolve against (relative: to the suite install root, which is also the default).' }),
  service: field.string({ len_max: 256, description: 'wsdl:service to use, by name (default: the first one with a SOAP port).' }),
  port: field.string({ len_max: 256, description: 'wsdl:port to use, by name (default: chosen by soap_version, SOAP 1.1 first).' }),
  soap_version: field.string({ one_of: ['1.1', '1.2'] as const, description: 'Pick the port whose binding speaks this SOAP version (default: 1.1 when the service has both).' }),
  endpoint_path: field.string({ len_max: 2048, pattern: '^/[^?#]*$', lua_match: '^/[^?#]*$', description: 'Upstream path of the SOAP endpoint (default: the path of the port\'s soap:address location).' }),
  base_path: field.string({ len_max: 2048, pattern: '^/[^?#]*$', lua_match: '^/[^?#]*$', description: 'Request path prefix the operation routes are relative to; unset: routes match the end of the path (after the Kong route\'s own path).' }),
  default_routes: field.boolean({ default: true, description: 'Expose every operation of the binding as POST <prefix>/<OperationName>, besides the mappings.' }),
  mappings: field.array(
    field.record({
      operation: field.string({ required: true, len_max: 256, description: 'Name of the WSDL operation this mapping exposes.' }),
      method: field.string({ required: true, one_of: METHODS, description: 'HTTP method of the REST route.' }),
      path: field.string({ required: true, len_max: 2048, pattern: '^/[^?#]*$', lua_match: '^/[^?#]*$', description: 'Path template, e.g. /countries/{sCountryISOCode}: each {name} fills the request field of that name.' }),
      query_params: field.set(field.string({ len_max: 256 }), { description: 'Request fields taken from query parameters of the same name (repeated for array fields).' }),
    }),
    { default: [], description: 'REST routes for operations, with path and query parameters mapped to request fields.' },
  ),
  response_unwrap: field.string({
    one_of: ['none', 'wrapper', 'result'] as const,
    default: 'wrapper',
    description: 'JSON answer: the response element as {"AddResponse":{...}} ("none"), its children ("wrapper"), or the value of its only child ("result").',
  }),
  ws_security: field.record({
    username: field.string({ len_max: 1024, description: 'WS-Security UsernameToken user name; unset: no Security header is sent.' }),
    password: field.string({ len_max: 4096, referenceable: true, encrypted: true, description: 'UsernameToken password, or a vault reference such as {vault://env/soap-password}.' }),
    password_env: field.string({ len_max: 256, pattern: '^[A-Za-z_][A-Za-z0-9_]*$', lua_match: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable of the plugin server holding the password (instead of password).' }),
    password_type: field.string({ one_of: ['PasswordDigest', 'PasswordText'] as const, default: 'PasswordDigest', description: 'PasswordDigest (SHA-1 of nonce, created and password) or PasswordText.' }),
    must_understand: field.boolean({ default: true, description: 'Mark the Security header soap:mustUnderstand="1".' }),
  }),
  limits: field.record(limitFields),
};

export type RestToSoapConfig = InferFields<typeof fields> & { failure_policy: 'fail_open' | 'fail_closed' };

type Violation = [string, string] | undefined;
type Check = (config: RestToSoapConfig) => Violation;

const compiled = new WeakMap<RestToSoapConfig, Translator>();

/**
 * The compiled translator of a config: the WSDL is read and compiled once, when the config is checked (instance
 * start, or `kong-plugins validate`), and the handler built for the same config object reuses it.
 */
export function translatorFor(config: RestToSoapConfig): Translator {
  let translator = compiled.get(config);
  if (!translator) {
    translator = buildTranslator(config);
    compiled.set(config, translator);
  }
  return translator;
}

function buildTranslator(config: RestToSoapConfig): Translator {
  const model: ServiceModel = compileService(config.wsdl_path ? { path: config.wsdl_path } : { text: config.wsdl_inline as string, baseDir: config.wsdl_base_dir ?? undefined }, {
    service: config.service ?? undefined,
    port: config.port ?? undefined,
    version: config.soap_version ?? undefined,
  });
  const l = limitsOf(config);
  return new Translator(model, {
    mappings: config.mappings,
    defaultRoutes: config.default_routes,
    basePath: config.base_path ?? undefined,
    endpointPath: config.endpoint_path ?? undefined,
    unwrap: config.response_unwrap,
    limits: {
      maxBytes: l.max_response_body_bytes,
      maxDepth: l.max_depth,
      maxElements: l.max_elements,
      maxAttributes: l.max_attributes,
      maxNamespaces: l.max_namespaces,
      maxNameLength: l.max_name_length,
      maxTextLength: l.max_text_length,
    },
  });
}

/**
 * Kong always expands the (required) limits and ws_security records with their defaults; a config parsed outside
 * Kong (unit tests, a hand-built object) may lack them, so the defaults are applied here as well.
 */
export function limitsOf(config: RestToSoapConfig): RestToSoapConfig['limits'] {
  const defaults = Object.fromEntries(Object.entries(limitFields).map(([name, spec]) => [name, spec.kong.default])) as RestToSoapConfig['limits'];
  return { ...defaults, ...(config.limits ?? {}) };
}

export function wsSecurityOf(config: RestToSoapConfig): RestToSoapConfig['ws_security'] {
  const w = (config.ws_security ?? {}) as Partial<RestToSoapConfig['ws_security']>;
  return { ...w, password_type: w.password_type ?? 'PasswordDigest', must_understand: w.must_understand ?? true } as RestToSoapConfig['ws_security'];
}

const oneSource: Check = (config) => {
  if (!config.wsdl_path === !config.wsdl_inline) return [config.wsdl_path ? 'wsdl_inline' : 'wsdl_path', 'set exactly one of wsdl_path and wsdl_inline'];
  return undefined;
};

const wsdlCompiles: Check = (config) => {
  if (oneSource(config)) return undefined;
  // the WSDL is compiled here (pure: local files only), so that a bad one is refused offline too
  try {
    translatorFor(config);
  } catch (err) {
    return [config.wsdl_path ? 'wsdl_path' : 'wsdl_inline', (err as Error).message];
  }
  return undefined;
};

/** Before the routes are compiled: every mapping names an operation and request fields that exist. */
const mappingsKnown: Check = (config) => {
  if (oneSource(config) || wsdlCompiles(config)) return undefined;
  const model = translatorFor(config).model;
  const seen = new Set<string>();
  for (const [i, m] of config.mappings.entries()) {
    const at = `mappings[${i}]`;
    const operation = model.operations.get(m.operation);
    if (!operation) return [`${at}.operation`, `"${m.operation}" is not an operation of binding ${model.binding} (known: ${[...model.operations.keys()].join(', ')})`];
    const body = operation.input.body;
    for (const param of templateParams(m.path)) {
      if (!body.byKey.has(param)) return [`${at}.path`, `{${param}} is not a field of ${m.operation}'s request (fields: ${[...body.byKey.keys()].join(', ') || 'none'})`];
    }
    for (const param of m.query_params ?? []) {
      if (!body.byKey.has(param)) return [`${at}.query_params`, `"${param}" is not a field of ${m.operation}'s request (fields: ${[...body.byKey.keys()].join(', ') || 'none'})`];
    }
    const key = `${m.method} ${m.path.replace(/\{[^}]*\}/g, '{}')}`;
    if (seen.has(key)) return [`${at}.path`, `${m.method} ${m.path} is mapped twice`];
    seen.add(key);
  }
  return undefined;
};

const wssComplete: Check = (config) => {
  const w = wsSecurityOf(config);
  if (!w.username) return w.password || w.password_env ? ['ws_security.username', 'needed when a password is configured'] : undefined;
  if (!w.password === !w.password_env) return ['ws_security.password', 'set exactly one of password (or a vault reference) and password_env'];
  return undefined;
};

export const checks: Check[] = [oneSource, wsdlCompiles, mappingsKnown, wssComplete];
