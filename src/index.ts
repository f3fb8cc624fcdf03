// Public library API for automation (a detection handler calling collection directly).
export * from './core/errors.js';
export * from './core/targets.js';
export * from './core/case-id.js';
export * from './core/config.js';
export type * from './core/ports.js';
export * from './core/orchestrator.js';
export * from './core/plan.js';
export * from './core/outcomes.js';
export * from './core/concurrency.js';
