/** The command line was wrong: the message names the argument; exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
