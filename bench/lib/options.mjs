// Command-line options shared by the bench runners: node:util parseArgs, --help, integer options.
import { parseArgs } from 'node:util';

/**
 * Parses process.argv with `options` (parseArgs' spec); prints `help` and exits 0 on --help.
 * Returns `{ opt, int }`, where `int(name, min = 0)` reads an integer option and exits 2 with a
 * message when it is not an integer >= min.
 */
export function parseOptions(options, help) {
  const { values: opt } = parseArgs({ options });
  if (opt.help) {
    process.stdout.write(help);
    process.exit(0);
  }
  const int = (name, min = 0) => {
    const v = Number(opt[name]);
    if (!Number.isInteger(v) || v < min) {
      console.error(`--${name} must be an integer >= ${min}`);
      process.exit(2);
    }
    return v;
  };
  return { opt, int };
}
