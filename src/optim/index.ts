export * from './optimizers.js';
export * from './schedule.js';
