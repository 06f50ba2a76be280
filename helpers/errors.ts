/**
 * Error kinds that decide how an outcome is reported:
 * - ConfigError: the user's configuration is wrong (before anything is contacted).
 * - InfraError: the harness could not reach or drive the target (not a product failure).
 * Both print as one paragraph: their stack is the message, so Playwright shows no
 * stack dump or code frame for them.
 */
abstract class CleanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
    this.stack = `${this.name}: ${message}`;
  }
}

export class ConfigError extends CleanError {
  constructor(
    readonly problems: string[],
    source: string,
  ) {
    super(`Invalid target configuration in ${source}:\n` + problems.map((p) => `  - ${p}`).join('\n'));
  }
}

/** The marker the matrix and Allure categories use to tell infra errors from failures. */
export const INFRA_MARKER = 'INFRA:';

export class InfraError extends CleanError {
  constructor(message: string) {
    super(`${INFRA_MARKER} ${message}`);
  }
}

/** The SSH connection is gone for good (dropped and not re-established): nothing more can be asked. */
export class ConnectionLostError extends InfraError {}

/** The marker of a capability the target claims but the probe or the test found broken. */
export const CAPABILITY_MARKER = 'capability broken:';

export class CapabilityError extends CleanError {
  constructor(message: string) {
    super(`${CAPABILITY_MARKER} ${message}`);
  }
}

/** The scheduler refused a job; the message is sbatch's own reason. */
export class SubmitError extends CleanError {}

/**
 * SLURM ended or stalled a job for a reason of the cluster, not of the workload: a node
 * failed under it (NODE_FAIL, BOOT_FAIL, a requeue), or it waits on something that cannot
 * clear by itself (a down or drained node, a down partition). The job has been cancelled.
 * `kind` lets a caller tell these apart (e.g. to retry a requeued job once).
 */
export class SchedulerFaultError extends CleanError {
  constructor(
    readonly kind: 'node-failure' | 'unrunnable',
    readonly jobId: string,
    readonly nodes: string[],
    message: string,
  ) {
    super(message);
  }
}
