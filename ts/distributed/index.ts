/**
 * `mg.distributed`: work spread over worker processes on many machines through a BullMQ queue on
 * Redis. Workers register named functions (`createWorker`); a coordinator submits batches and gets
 * the results back in submission order, or reduced (`createCoordinator(...).map`).
 *
 * @module
 */
export { createCoordinator, createWorker, reduceTrees, DistributedError, type Coordinator, type CoordinatorOptions, type DistributedWorker, type QueueConnection, type Reduction, type TaskFunction, type WorkerOptions } from './queue';
export { decodePayload, encodePayload, PayloadError, type EncodedPayload, type PayloadLimits } from './payload';
