import { errorTemplate, pdkErrorMessage, responseType } from '../../../devkit/emulator/error-templates';
import { escapeUri, normalizeUri } from '../../../devkit/emulator/uri';

// kong/tools/uri.lua normalize(uri, true) at 3.9.3: reserved %XX kept (upper-cased), every other %XX decoded
describe('normalizeUri (kong/tools/uri.lua normalize)', () => {
  it.each([
    ['/', '/'],
    ['/a/./b/../c', '/a/c'],
    ['/a//b///c', '/a/b/c'],
    ['/%61%2f%2F%3f', '/a%2F%2F%3F'],
    ['/%7Euser/%20x/%C3%A9', '/~user/ x/é'],
    ['/a/%2e%2e/b', '/b'],
    ['/../a', '/a'],
    ['/a/..', '/'],
    ['/a/b/.', '/a/b/'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeUri(input, true)).toBe(expected);
  });

  it('escapes what is not safe in a path, per byte', () => {
    expect(escapeUri('/a b/é/%2F"x"')).toBe('/a%20b/%C3%A9/%2F%22x%22');
  });
});

// kong/tools/http.lua get_response_type / get_mime_type / get_error_template
describe('error body negotiation (kong/tools/http.lua)', () => {
  it.each([
    [undefined, 'application/json; charset=utf-8'],
    ['text/html', 'text/html; charset=utf-8'],
    ['text/*', 'text/plain; charset=utf-8'],
    ['*/*', 'application/json; charset=utf-8'],
    ['text/html;q=0.2, application/xml;q=0.8', 'application/xml; charset=utf-8'],
    ['text/plain;q=0.9, text/html;q=0.9', 'text/plain; charset=utf-8'],
    ['image/png, text/html', 'application/json; charset=utf-8'],
    ['text/html;q=0', 'application/json; charset=utf-8'],
    ['text/html;level=1;q=0.5, text/plain;q=0.4', 'text/html; charset=utf-8'],
  ])('Accept %s -> %s', (accept, type) => {
    expect(responseType(accept)).toBe(type);
  });

  it('has templates for bare and charset types only, and the PDK\'s default messages', () => {
    expect(errorTemplate('text/plain')?.('Gone', 'id')).toBe('Gone\nrequest_id: id\n');
    expect(errorTemplate('application/problem+json')).toBeUndefined();
    expect(pdkErrorMessage(429)).toBe('Too many requests');
    expect(pdkErrorMessage(599)).toBe('The upstream server responded with 599');
  });
});
