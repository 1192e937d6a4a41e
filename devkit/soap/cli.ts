import fs from 'node:fs';
import type { Command } from 'commander';
import { openApiDocument } from '../../plugins/rest-to-soap/openapi';
import { Translator } from '../../plugins/rest-to-soap/translator';
import { compileService, type SoapVersion } from '../../plugins/rest-to-soap/wsdl/operations';
import type { Unwrap } from '../../plugins/rest-to-soap/response-reader';

/** `kong-plugins soap openapi <wsdl>`: the REST face rest-to-soap gives a WSDL, as OpenAPI 3.1 (registered in devkit/validate/cli.ts). */
export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

interface Options {
  service?: string;
  port?: string;
  soapVersion?: SoapVersion;
  basePath?: string;
  unwrap: Unwrap;
  mappings?: string;
  output?: string;
}

export function soapOpenApi(wsdl: string, options: Options, io: Output): number {
  try {
    const model = compileService({ path: wsdl }, { service: options.service, port: options.port, version: options.soapVersion });
    const mappings = options.mappings ? (JSON.parse(fs.readFileSync(options.mappings, 'utf8')) as []) : [];
    for (const [i, m] of (mappings as Array<{ operation: string }>).entries()) {
      if (!model.operations.has(m.operation)) throw new Error(`mappings[${i}].operation: "${m.operation}" is not an operation of binding ${model.binding}`);
    }
    const limits = { maxBytes: 1, maxDepth: 1, maxElements: 1, maxAttributes: 0, maxNamespaces: 0, maxNameLength: 1, maxTextLength: 1 };
    const translator = new Translator(model, { mappings, defaultRoutes: true, unwrap: options.unwrap, limits });
    const text = JSON.stringify(openApiDocument(model, translator.routes, { basePath: options.basePath, unwrap: options.unwrap }), null, 2) + '\n';
    if (options.output) {
      fs.writeFileSync(options.output, text);
      io.out(`${wsdl}: ${model.operations.size} operations of ${model.service}/${model.port} written to ${options.output}\n`);
    } else io.out(text);
    return 0;
  } catch (err) {
    io.err(`kong-plugins soap openapi: ${(err as Error).message}\n`);
    return 2;
  }
}

export function registerSoap(program: Command, io: Output, setCode: (code: number) => void): void {
  const soap = program.command('soap').description('rest-to-soap tools');
  soap
    .command('openapi')
    .description('Print the OpenAPI 3.1 document of the REST face rest-to-soap gives a WSDL (paths, parameters, JSON schemas from the XSD, problem answers).')
    .argument('<wsdl>', 'WSDL 1.1 file (imports resolved from local files)')
    .option('--service <name>', 'wsdl:service to use')
    .option('--port <name>', 'wsdl:port to use')
    .option('--soap-version <version>', 'pick the port by SOAP version (1.1 or 1.2)')
    .option('--base-path <path>', 'path prefix of every operation (the Kong route path)')
    .option('--unwrap <mode>', 'response_unwrap: none, wrapper or result', 'wrapper')
    .option('--mappings <file>', 'JSON file with the plugin config\'s mappings array')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action((wsdl: string, options: Options) => setCode(soapOpenApi(wsdl, options, io)));
}
