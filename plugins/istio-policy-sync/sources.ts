import fs from 'node:fs';
import path from 'node:path';
import { yamlFiles, type K8sObject } from '../../shared/istio/model';
import type { Logger } from '../../shared/observability/log';
import { addObject, emptySet, ManifestError, parseManifests, type ManifestSet } from './manifests';
import { SourceMetrics } from './metrics';
import { PolicySnapshot } from './policy-set';
import { KubernetesWatch, type KubernetesSourceOptions } from './kubernetes-watch';

/**
 * Where policy sets come from. One source per distinct source config and root namespace, shared by every plugin
 * instance in the process (Kong starts one instance per config and worker, and never tells an instance it closed),
 * so a directory is polled, or a Kubernetes API watched, once. Background work never touches the PDK.
 */
export interface PolicySource {
  /** The last good set; undefined until one loaded (requests are then left to the mesh). */
  readonly snapshot: PolicySnapshot | undefined;
  /** The last load problem, cleared by the next good load. */
  readonly problem: string | undefined;
}

export interface SourceOptions {
  kind: 'inline' | 'directory' | 'kubernetes';
  manifests?: string | null;
  directory?: string | null;
  reloadIntervalMs: number;
  rootNamespace: string;
  kubernetes?: KubernetesSourceOptions;
}

const sources = new Map<string, PolicySource>();

export function policySource(options: SourceOptions, log: Logger): PolicySource {
  const key = JSON.stringify(options);
  let source = sources.get(key);
  if (!source) {
    if (options.kind === 'inline') source = new InlineSource(options.manifests ?? '', options.rootNamespace);
    else if (options.kind === 'directory') source = new DirectorySource(resolveDirectory(options.directory as string), options.rootNamespace, options.reloadIntervalMs, log);
    else source = new KubernetesSource(options.kubernetes as KubernetesSourceOptions, options.rootNamespace, log);
    sources.set(key, source);
  }
  return source;
}

/**
 * A relative directory is relative to the suite's install root (the folder holding its package.json), not to the
 * plugin server's working directory (Kong's prefix): `istio/generated/zero-trust` names the shipped manifests.
 */
export function resolveDirectory(dir: string): string {
  if (path.isAbsolute(dir)) return dir;
  let root = __dirname;
  while (!fs.existsSync(path.join(root, 'package.json')) && path.dirname(root) !== root) root = path.dirname(root);
  return path.resolve(root, dir);
}

/** Stops every background source (tests and benchmarks). */
export function closeSources(): void {
  for (const s of sources.values()) (s as { close?: () => void }).close?.();
  sources.clear();
}

class InlineSource implements PolicySource {
  readonly snapshot: PolicySnapshot;
  readonly problem = undefined;
  constructor(text: string, root: string) {
    // the schema's checks already parsed it: a failure here cannot happen for a config Kong accepted
    this.snapshot = new PolicySnapshot(parseManifests(text, 'inline'), root, 1);
  }
}

class ReloadingSource implements PolicySource {
  snapshot: PolicySnapshot | undefined;
  problem: string | undefined;
  protected generation = 0;
  protected readonly metrics: SourceMetrics;

  constructor(
    protected readonly label: string,
    protected readonly root: string,
    protected readonly log: Logger,
  ) {
    this.metrics = new SourceMetrics(label);
  }

  protected accept(set: ManifestSet): void {
    this.snapshot = new PolicySnapshot(set, this.root, ++this.generation);
    this.problem = undefined;
    this.metrics.loaded(this.snapshot.counts);
    this.log.info({ event: 'istio_policies_loaded', source: this.label, generation: this.generation, ...this.snapshot.counts }, 'istio policies loaded');
  }

  protected refuse(problem: string): void {
    this.problem = problem;
    this.metrics.failed();
    this.log.warn({ event: 'istio_policies_refused', source: this.label, problem, kept_generation: this.snapshot?.generation ?? null }, 'istio policies refused: keeping the last good set');
  }
}

/** A directory of YAML files, polled every interval; a change reloads all of them; a bad file keeps the last good set. */
class DirectorySource extends ReloadingSource {
  private signature = '';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly dir: string,
    root: string,
    intervalMs: number,
    log: Logger,
  ) {
    super(`directory:${dir}`, root, log);
    this.poll();
    this.timer = setInterval(() => this.poll(), intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private poll(): void {
    let files: string[];
    let signature: string;
    try {
      files = yamlFiles(this.dir);
      signature = files.map((f) => `${f}:${statSignature(path.join(this.dir, f))}`).join('|');
    } catch (err) {
      const problem = `${this.dir}: ${(err as Error).message}`;
      if (problem !== this.problem) this.refuse(problem);
      this.signature = '';
      return;
    }
    if (signature === this.signature) return;
    this.signature = signature;
    try {
      const set = emptySet();
      for (const file of files) parseManifests(fs.readFileSync(path.join(this.dir, file), 'utf8'), file, set);
      this.accept(set);
    } catch (err) {
      // ManifestError or a file vanishing mid-read: either way the last good set stays
      this.refuse((err as Error).message);
    }
  }
}

function statSignature(file: string): string {
  const s = fs.statSync(file);
  return `${s.mtimeMs}:${s.size}:${s.ino}`;
}

/** A list+watch of the three kinds on a Kubernetes API server; each change rebuilds the set (debounced). */
class KubernetesSource extends ReloadingSource {
  private readonly watch: KubernetesWatch;
  private pending: NodeJS.Timeout | undefined;

  constructor(options: KubernetesSourceOptions, root: string, log: Logger) {
    super(`kubernetes:${options.apiServer}`, root, log);
    this.watch = new KubernetesWatch(options, log, {
      changed: () => this.schedule(),
      failed: (problem) => this.refuse(problem),
    });
    this.watch.start();
  }

  close(): void {
    this.watch.stop();
    if (this.pending) clearTimeout(this.pending);
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.rebuild();
    }, 10);
    this.pending.unref();
  }

  private rebuild(): void {
    const set = emptySet();
    const bad: string[] = [];
    for (const [key, object] of this.watch.objects()) {
      try {
        addObject(object as K8sObject, key, set);
      } catch (err) {
        if (!(err instanceof ManifestError)) throw err;
        bad.push(err.message);
      }
    }
    // the API server admitted these objects; one Istio would refuse is skipped, reported, and the rest applied
    this.accept(set);
    if (bad.length > 0) this.refuse(bad.join('; '));
  }
}
