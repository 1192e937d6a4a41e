import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from '../xml/document';
import { attr, XSD_NS, type XmlElement } from '../xml/node';
import type { SchemaDoc } from '../xsd/schema-set';

export const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';

/** Where the WSDL comes from: a file, or the text itself with a directory its relative imports resolve against. */
export type WsdlSource = { path: string } | { text: string; baseDir?: string };

export interface LoadedWsdl {
  /** Every wsdl:definitions reached (the main one first, then wsdl:import targets). */
  definitions: XmlElement[];
  schemas: SchemaDoc[];
  /** Files read, for messages and documentation. */
  files: string[];
}

const MAX_DOCUMENTS = 256;

/**
 * A relative wsdl_path / wsdl_base_dir is relative to the suite's install root (the folder holding its
 * package.json), not to the plugin server's working directory (Kong starts it from its prefix): kong.yml's
 * `devkit/upstreams/soap/wsdl/...` names the shipped WSDLs in the dev gateway and in the image alike.
 */
export function resolveFromInstallRoot(file: string): string {
  if (path.isAbsolute(file)) return file;
  let root = __dirname;
  while (!fs.existsSync(path.join(root, 'package.json')) && path.dirname(root) !== root) root = path.dirname(root);
  return path.resolve(root, file);
}

/**
 * Loads a WSDL 1.1 and everything it pulls in from local files: wsdl:import, and xsd:import / xsd:include
 * (schemaLocation) inside its schemas and theirs, each document once. Remote locations (http:, https:, file: URLs)
 * are refused: the plugin never fetches anything at runtime or at config time. Included schemas without a
 * targetNamespace take the includer's (chameleon include).
 */
export function loadWsdl(source: WsdlSource): LoadedWsdl {
  const out: LoadedWsdl = { definitions: [], schemas: [], files: [] };
  const seen = new Set<string>();
  const read = (file: string): XmlElement => {
    if (out.files.length >= MAX_DOCUMENTS) throw new Error(`more than ${MAX_DOCUMENTS} documents imported`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    out.files.push(file);
    return parseDocument(text, path.basename(file));
  };
  const locate = (location: string, baseDir: string, what: string): string => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(location) && !/^[a-z]:[\\/]/i.test(location)) throw new Error(`${what} "${location}": only local files are loaded (no URLs)`);
    return path.resolve(baseDir, location);
  };

  const visitSchema = (schema: XmlElement, baseDir: string, inheritedNs: string | undefined): void => {
    const targetNamespace = attr(schema, 'targetNamespace') ?? inheritedNs ?? '';
    out.schemas.push({
      element: schema,
      targetNamespace,
      elementQualified: attr(schema, 'elementFormDefault') === 'qualified',
      attributeQualified: attr(schema, 'attributeFormDefault') === 'qualified',
    });
    for (const child of schema.children) {
      if (child.ns !== XSD_NS || (child.local !== 'import' && child.local !== 'include' && child.local !== 'redefine')) continue;
      const location = attr(child, 'schemaLocation');
      if (!location) continue; // an import of a namespace defined elsewhere in the WSDL
      const file = locate(location, baseDir, `xsd:${child.local}`);
      const key = `${file}|${child.local === 'import' ? '' : targetNamespace}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const root = read(file);
      if (root.ns !== XSD_NS || root.local !== 'schema') throw new Error(`${file}: not an XML Schema`);
      visitSchema(root, path.dirname(file), child.local === 'import' ? undefined : targetNamespace);
    }
  };

  const visitDefinitions = (definitions: XmlElement, baseDir: string): void => {
    if (definitions.ns !== WSDL_NS || definitions.local !== 'definitions') throw new Error('not a WSDL 1.1 document (wsdl:definitions expected; WSDL 2.0 is not supported)');
    out.definitions.push(definitions);
    for (const child of definitions.children) {
      if (child.ns === WSDL_NS && child.local === 'import') {
        const location = attr(child, 'location');
        if (!location) continue;
        const file = locate(location, baseDir, 'wsdl:import');
        if (seen.has(file)) continue;
        seen.add(file);
        const root = read(file);
        if (root.ns === XSD_NS && root.local === 'schema') visitSchema(root, path.dirname(file), undefined);
        else visitDefinitions(root, path.dirname(file));
      } else if (child.ns === WSDL_NS && child.local === 'types') {
        for (const schema of child.children) if (schema.ns === XSD_NS && schema.local === 'schema') visitSchema(schema, baseDir, undefined);
      }
    }
  };

  if ('path' in source) {
    const file = resolveFromInstallRoot(source.path);
    seen.add(file);
    visitDefinitions(read(file), path.dirname(file));
  } else {
    visitDefinitions(parseDocument(source.text, 'inline WSDL'), resolveFromInstallRoot(source.baseDir ?? '.'));
  }
  return out;
}
