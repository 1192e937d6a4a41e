// Type shims for the independent header parsers the tests verify our headers with (devDependencies).
// structured-headers ships types only under package "exports", which moduleResolution "node" does not read.
declare module 'structured-headers' {
  export type BareItem = number | string | boolean | Date | ArrayBuffer | symbol | { toString(): string };
  export type Parameters = Map<string, BareItem>;
  export type Item = [BareItem, Parameters];
  export function parseItem(input: string): Item;
  export function parseList(input: string): Array<Item | [Item[], Parameters]>;
  export class ParseError extends Error {}
}

declare module 'http-link-header' {
  interface Reference {
    uri: string;
    rel: string;
    [attribute: string]: string;
  }
  class Link {
    refs: Reference[];
    static parse(value: string): Link;
    rel(value: string): Reference[];
    get(attribute: string, value: string): Reference[];
  }
  export = Link;
}
