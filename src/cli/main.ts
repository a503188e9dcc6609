// The `clasp` command: generate, bench, serve and trace, over the same services as the app.
import { UsageError } from './args';
import { generateCommand } from './generate';

const USAGE = `usage: clasp <command> [options]

Commands:
  generate   generate text from a prompt (ar, clasp or static decoding)
  bench      run a prompt set in several modes and compare speed
  serve      the web UI and an OpenAI-compatible API on 127.0.0.1
  trace      export, validate or summarise a clasp-trace file

Every command takes --help.`;

type Command = (argv: string[]) => Promise<number>;

async function lazy(name: string): Promise<Command | undefined> {
  switch (name) {
    case 'generate':
      return generateCommand;
    case 'bench':
      return (await import('./bench')).benchCommand;
    case 'bench-engine':
      return (await import('./benchEngine')).benchEngineCommand;
    case 'serve': return (await import('./serve')).serveCommand;
    case 'trace':
      return (await import('./trace')).traceCommand;
    default:
      return undefined;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  const run = await lazy(cmd);
  if (!run) {
    console.error(`clasp: unknown command "${cmd}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`clasp ${cmd}: ${msg}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
