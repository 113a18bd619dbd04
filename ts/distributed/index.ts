/** Distribution of work over worker processes through a BullMQ queue on Redis (`mg.distributed`). */
export { createCoordinator, createWorker, reduceTrees, DistributedError, type Coordinator, type CoordinatorOptions, type DistributedWorker, type QueueConnection, type Reduction, type TaskFunction, type WorkerOptions } from './queue';
export { decodePayload, encodePayload, PayloadError, type EncodedPayload, type PayloadLimits } from './payload';
