/**
 * Runs a bench script's `main` and ends the process with its outcome: 0, or 1 with the error printed.
 * Exits at once, so that a stand-in's timer or socket left open cannot keep a finished measurement alive.
 */
export function runMain(main: () => Promise<unknown>): void {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
