// The one entry point to shared code (lint forbids deep imports from services).
export * from './errors.js';
export * from './config.js';
export * from './logger.js';
export * from './redis.js';
export * from './redis-server.js';
export * from './net.js';
export * from './shutdown.js';
export * from './rows.js';
export * from './store/keys.js';
export * from './roles.js';
export * from './entry.js';
export * from './protocol/prediction.js';
export * from './protocol/delivery.js';
