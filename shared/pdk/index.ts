export * from './pdk';
export * from './types';
export * from './problem';
