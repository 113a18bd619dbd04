/**
 * Errors the command line reports as one line of text and a non-zero exit code, without a stack
 * trace: bad flags, unreadable or incompatible files.
 */

/** An error caused by the user's input; `exitCode` 2 for usage errors, 1 otherwise. */
export class CliError extends Error {
  override name = 'CliError';

  constructor(
    message: string,
    /** The process exit code to use. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
