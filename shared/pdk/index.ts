export * from './pdk';
export * from './types';
