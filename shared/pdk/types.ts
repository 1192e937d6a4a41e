/** Shapes Kong really sends through the plugin server (see ../../../shared docs: one return value only). */
export type HeaderMultimap = Record<string, string[]>;

export interface KongConsumer {
  id: string;
  username?: string | null;
  custom_id?: string | null;
  tags?: string[] | null;
  created_at?: number;
}

export interface KongCredential {
  id: string;
  consumer?: { id: string } | null;
  [field: string]: unknown;
}

export interface KongRoute {
  id: string;
  name?: string | null;
  paths?: string[] | null;
  tags?: string[] | null;
  service?: { id: string } | null;
}

export interface KongService {
  id: string;
  name?: string | null;
  host: string;
  port: number;
  path?: string | null;
  protocol: string;
}

export type HeaderValue = string | number | boolean;
export type HeaderInput = Record<string, HeaderValue | HeaderValue[]>;
