import type { HeaderMultimap } from '../../shared/pdk';
import type { TenantQuotaConfig } from './schema';

/** Pure: the units one request costs: cost.default, or the cost header within cost.min..max (undefined: invalid). */
export class CostPricer {
  /** Lower-case cost header name; undefined: every request costs cost.default (no header read for it). */
  readonly header: string | undefined;

  constructor(private readonly cost: TenantQuotaConfig['cost']) {
    this.header = cost.header?.toLowerCase();
  }

  /** The cost header when it was sent more than once (the upstream would see "1, 100"). */
  ambiguousHeader(headers: HeaderMultimap | undefined): string | undefined {
    return this.header && (headers?.[this.header]?.length ?? 0) > 1 ? this.header : undefined;
  }

  price(headers: HeaderMultimap | undefined): number | undefined {
    const c = this.cost;
    if (!this.header) return c.default;
    const raw = headers?.[this.header]?.[0];
    if (raw === undefined) return c.default;
    const value = Number(raw.trim());
    if (!/^\d+$/.test(raw.trim()) || value < c.min || value > c.max) return undefined;
    return value;
  }
}
