#!/usr/bin/env node
/**
 * The `acr` command line. Each command lives in its own module (lib/cli/<name>.ts) and only
 * parses arguments and calls the library. Exit codes: 0 success, 1 failure, 2 bad usage.
 */
import { AcrError, exitCodeOf } from '../errors';

export interface Command {
  name: string;
  summary: string;
  /** Full --help text. */
  usage: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Array<() => Command> = [
  // Each command module registers itself here: () => require('./train').command, ...
  () => require('./train').command,
  () => require('./eval').command,
  () => require('./fit-asm').command,
  () => require('./export').command,
  () => require('./predict').command,
];

function commands(): Command[] {
  return COMMANDS.map((f) => f());
}

function help(): string {
  const lines = ['Usage: acr <command> [options]', '', 'Commands:'];
  for (const c of commands()) lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
  lines.push('', "Run 'acr <command> --help' for a command's options.");
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    console.log(require('../../package.json').version);
    return 0;
  }
  const cmd = commands().find((c) => c.name === name);
  if (!cmd) {
    console.error(`acr: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof AcrError) {
      console.error(`acr ${name}: ${err.message} [${err.code}]`);
      return exitCodeOf(err);
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exitCode = 1;
    },
  );
}
