export type BodyFormat = 'json' | 'xml' | 'text';

/**
 * The content-type allow-list: exact media types, `type/*`, and `type/*+suffix` wildcards. A matching type is
 * scanned as JSON (`json` or `+json`), XML (`xml` or `+xml`) or text.
 */
export class ContentTypes {
  private readonly exact = new Set<string>();
  private readonly wildcards: Array<{ type: string; suffix: string | undefined }> = [];

  constructor(allowed: readonly string[]) {
    for (const entry of allowed) {
      const media = entry.trim().toLowerCase();
      const star = media.indexOf('/*');
      if (star < 0) this.exact.add(media);
      else this.wildcards.push({ type: media.slice(0, star), suffix: media.startsWith('+', star + 2) ? media.slice(star + 2) : undefined });
    }
  }

  /** The format to scan a response of this Content-Type as, or undefined when it is not allowed. */
  formatOf(contentType: string | undefined): BodyFormat | undefined {
    if (!contentType) return undefined;
    const semi = contentType.indexOf(';');
    const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    const slash = media.indexOf('/');
    if (slash < 0) return undefined;
    const type = media.slice(0, slash);
    const subtype = media.slice(slash + 1);
    let allowed = this.exact.has(media);
    for (let i = 0; !allowed && i < this.wildcards.length; i++) {
      const w = this.wildcards[i];
      allowed = w.type === type && (w.suffix === undefined || subtype.endsWith(w.suffix));
    }
    if (!allowed) return undefined;
    if (subtype === 'json' || subtype.endsWith('+json')) return 'json';
    if (subtype === 'xml' || subtype.endsWith('+xml')) return 'xml';
    return 'text';
  }
}
