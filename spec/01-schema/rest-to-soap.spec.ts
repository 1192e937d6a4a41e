import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../shared/schema';
import { Schema, schema } from '../../plugins/rest-to-soap';
import { WSDL_DIR } from '../../devkit/upstreams/soap-services';

const calculator = path.join(WSDL_DIR, 'calculator.wsdl');
const countries = path.join(WSDL_DIR, 'country-info.wsdl');

function problemsOf(config: Record<string, unknown>): string[] {
  try {
    schema.parse(config);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

describe('rest-to-soap schema', () => {
  it('accepts a minimal config and fills defaults (limits, unwrap, WS-Security off, fail_closed)', () => {
    // records as Kong stores them (required records are expanded with their fields' defaults)
    const { config } = schema.parse({ wsdl_path: calculator, ws_security: {}, limits: {}, route_id: 'r1', __plugin_id: 'p1' });
    expect(config).toMatchObject({
      default_routes: true,
      mappings: [],
      response_unwrap: 'wrapper',
      failure_policy: 'fail_closed',
      ws_security: { password_type: 'PasswordDigest', must_understand: true },
      limits: { max_request_body_bytes: 1_048_576, max_depth: 64, max_elements: 100_000, max_attributes: 64, max_namespaces: 32, max_name_length: 256 },
    });
  });

  it('describes every field for Kong, and marks the password referenceable (vault) and encrypted', () => {
    const text = JSON.stringify(Schema);
    expect(text).toContain('"password":{"type":"string","len_max":4096,"referenceable":true,"encrypted":true');
    const undocumented: string[] = [];
    const walk = (fields: Array<Record<string, any>>, at: string) => {
      for (const entry of fields) {
        for (const [name, def] of Object.entries(entry)) {
          if (!def.description && def.type !== 'record') undocumented.push(`${at}${name}`);
          if (def.type === 'record') walk(def.fields, `${at}${name}.`);
          if (def.elements?.type === 'record') walk(def.elements.fields, `${at}${name}[].`);
        }
      }
    };
    walk(Schema as Array<Record<string, any>>, '');
    expect(undocumented.filter((n) => !n.endsWith('query_params'))).toEqual([]);
  });

  it('accepts an inline WSDL with the same result as the file', () => {
    const { config } = schema.parse({ wsdl_inline: fs.readFileSync(countries, 'utf8') });
    expect(config.wsdl_inline).toContain('CountryInfoService');
  });

  it('refuses configs naming the field: no WSDL, both, unreadable, not a WSDL, a DTD, remote imports, unknown port', () => {
    expect(problemsOf({})).toEqual(['config.wsdl_path: set exactly one of wsdl_path and wsdl_inline']);
    expect(problemsOf({ wsdl_path: calculator, wsdl_inline: '<x/>' })).toEqual(['config.wsdl_inline: set exactly one of wsdl_path and wsdl_inline']);
    expect(problemsOf({ wsdl_path: '/nonexistent/x.wsdl' })[0]).toMatch(/^config\.wsdl_path: cannot read \/nonexistent\/x\.wsdl: ENOENT/);
    expect(problemsOf({ wsdl_inline: '<a/>' })[0]).toMatch(/^config\.wsdl_inline: not a WSDL 1\.1 document/);
    expect(problemsOf({ wsdl_inline: '<!DOCTYPE x [<!ENTITY a "b">]><x/>' })[0]).toMatch(/^config\.wsdl_inline: inline WSDL: a DTD is not allowed/);
    const remote = fs.readFileSync(calculator, 'utf8').replace('<wsdl:types>', '<wsdl:import namespace="urn:x" location="http://example.com/x.wsdl"/><wsdl:types>');
    expect(problemsOf({ wsdl_inline: remote })[0]).toMatch(/wsdl:import "http:\/\/example.com\/x.wsdl": only local files/);
    expect(problemsOf({ wsdl_path: calculator, port: 'Nope' })[0]).toMatch(/^config\.wsdl_path: no SOAP port port "Nope"/);
    expect(problemsOf({ wsdl_path: path.join(WSDL_DIR, 'stock-quote-rpc.wsdl'), soap_version: '1.2' })[0]).toMatch(/no SOAP port with SOAP 1\.2|no SOAP port SOAP 1\.2/);
  });

  it('refuses an encoded binding', () => {
    const encoded = fs.readFileSync(path.join(WSDL_DIR, 'stock-quote-rpc.wsdl'), 'utf8').replace(/use="literal"/g, 'use="encoded"');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2s-schema-'));
    fs.writeFileSync(path.join(dir, 'enc.wsdl'), encoded);
    expect(problemsOf({ wsdl_path: path.join(dir, 'enc.wsdl') })[0]).toMatch(/use="encoded" is not supported/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses mappings with an unknown operation, path parameter or query parameter, or twice the same route (0-based paths)', () => {
    const base = { wsdl_path: countries };
    expect(problemsOf({ ...base, mappings: [{ operation: 'Nope', method: 'GET', path: '/x' }] })[0]).toMatch(/^config\.mappings\[0\]\.operation: "Nope" is not an operation of binding CountryInfoServiceSoapBinding/);
    expect(problemsOf({ ...base, mappings: [{ operation: 'CapitalCity', method: 'GET', path: '/c/{iso}' }] })).toEqual([
      "config.mappings[0].path: {iso} is not a field of CapitalCity's request (fields: sCountryISOCode)",
    ]);
    expect(problemsOf({ ...base, mappings: [{ operation: 'CapitalCity', method: 'GET', path: '/c', query_params: ['code'] }] })[0]).toMatch(/^config\.mappings\[0\]\.query_params: "code" is not a field/);
    const twice = [
      { operation: 'CapitalCity', method: 'GET', path: '/c/{sCountryISOCode}' },
      { operation: 'FullCountryInfo', method: 'GET', path: '/c/{sCountryISOCode}' },
    ];
    expect(problemsOf({ ...base, mappings: twice })).toEqual(['config.mappings[1].path: GET /c/{sCountryISOCode} is mapped twice']);
    expect(problemsOf({ ...base, mappings: [{ operation: 'CapitalCity', method: 'FETCH', path: '/c' }] })[0]).toMatch(/^config\.mappings\[0\]\.method/);
  });

  it('refuses incomplete WS-Security settings', () => {
    expect(problemsOf({ wsdl_path: calculator, ws_security: { username: 'u' } })).toEqual(['config.ws_security.password: set exactly one of password (or a vault reference) and password_env']);
    expect(problemsOf({ wsdl_path: calculator, ws_security: { password: 'p' } })).toEqual(['config.ws_security.username: needed when a password is configured']);
    expect(problemsOf({ wsdl_path: calculator, ws_security: { username: 'u', password: 'p', password_env: 'X' } })[0]).toMatch(/set exactly one/);
  });

  it('accepts a vault-resolved password (Kong adds $refs to the record)', () => {
    const { config } = schema.parse({ wsdl_path: calculator, ws_security: { username: 'u', password: 'resolved', $refs: { password: '{vault://env/soap}' } } });
    expect(config.ws_security.password).toBe('resolved');
  });
});
