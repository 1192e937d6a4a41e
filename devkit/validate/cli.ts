import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import YAML from 'yaml';
import { parseDeclarative, type KongConfig } from '../emulator/declarative';
import { KONG_BUNDLED_PLUGINS } from '../gateway/bundled-plugins';
import { registerIstio } from '../istio/cli';
import { registerSoap } from '../soap/cli';
import { checkPluginConfigs } from './check-plugins';
import { errorLines, summaryLine } from './report';
import { loadSuite, SuiteLoadError } from './suite';

/** dist/devkit/validate -> dist/plugins: the suite this CLI was built with. */
const BUILT_PLUGINS = path.resolve(__dirname, '..', '..', 'plugins');

export const EXIT = { ok: 0, invalid: 1, unusable: 2 } as const;

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

class UnusableInput extends Error {}

function readDeclarative(file: string): KongConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UnusableInput((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file}: no such file` : `${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new UnusableInput(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    return parseDeclarative(doc as Record<string, unknown>);
  } catch (err) {
    throw new UnusableInput(`${file}: not a declarative config: ${(err as Error).message}`);
  }
}

/** `kong-plugins validate [file]`: 0 clean, 1 errors in plugin configs (one line each), 2 file or suite unusable. */
function validate(file: string, pluginsDir: string, io: Output): number {
  try {
    const config = readDeclarative(file);
    const report = checkPluginConfigs(config, loadSuite(pluginsDir), KONG_BUNDLED_PLUGINS);
    const summary = summaryLine(file, report);
    if (report.problems.length === 0) {
      io.out(summary + '\n');
      return EXIT.ok;
    }
    io.err([...errorLines(file, report), summary].join('\n') + '\n');
    return EXIT.invalid;
  } catch (err) {
    if (!(err instanceof UnusableInput || err instanceof SuiteLoadError)) throw err;
    io.err(`kong-plugins validate: ${err.message}\n`);
    return EXIT.unusable;
  }
}

export async function main(argv: string[] = process.argv, io: Output = stdio): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('kong-plugins')
    .description('Tools for this Kong plugin suite')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  program
    .command('validate')
    .description(
      'Check every plugin config of a declarative file (decK / DB-less) offline: Kong\'s schema rules for our plugins, then everything their instance start would refuse. Bundled Kong plugins are skipped.',
    )
    .argument('[file]', 'declarative config', 'kong.yml')
    .option('--plugins-dir <dir>', 'built plugins to check against', BUILT_PLUGINS)
    .action((file: string, options: { pluginsDir: string }) => {
      code = validate(file, options.pluginsDir, io);
    });
  registerIstio(program, io, (c) => (code = c));
  registerSoap(program, io, (c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const exitCode = (err as { exitCode?: number }).exitCode;
    return exitCode === 0 ? EXIT.ok : EXIT.unusable;
  }
  return code;
}
