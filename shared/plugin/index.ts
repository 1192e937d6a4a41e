export * from './define-plugin';
