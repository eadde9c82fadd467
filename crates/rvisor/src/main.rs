//! `rvisor`: the command-line entry point.

mod confine;
mod gofer;
mod oci;
mod sandbox;
mod terminal;

use std::process::ExitCode;

const USAGE: &str = "usage:
  rvisor do [--root DIR] [--overlay=memory|none|file:DIR] [--tmpfs PATH[:OPTS]]...
            [--cwd DIR] [--env K=V]... [--platform NAME]
            [--strace] [--log FILE] [--hostname NAME] [--network none|sandbox|host]
            [--syscall-patching on|off] [--debug-unconfined]
            [--watchdog-timeout SECS] [--watchdog-action log|panic] -- CMD [ARGS...]
  rvisor help syscalls
  rvisor --version
  rvisor [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...
      runc-compatible commands: create start run state kill delete list ps
      spec features wait (rvisor COMMAND --help)";

fn main() -> ExitCode {
    // A panic anywhere in the sentry is a bug: say so and stop the whole
    // sandbox at once rather than leave a task thread dead and others
    // waiting for it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        terminal::restore();
        eprintln!("rvisor: internal error (this is a bug in the sandbox):");
        default_hook(info);
        std::process::abort();
    }));
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("do") => match sandbox::DoOptions::parse(&args[1..]) {
            Ok(opts) => ExitCode::from(sandbox::run(opts)),
            Err(msg) => {
                eprintln!("rvisor: {msg}\n{USAGE}");
                ExitCode::from(2)
            }
        },
        // Started by `rvisor do`, not meant to be run by hand.
        Some("gofer") => ExitCode::from(gofer::main(&args[1..])),
        Some("help") if args.get(1).map(String::as_str) == Some("syscalls") => {
            print!("{}", syscalls::table_markdown());
            ExitCode::SUCCESS
        }
        Some("--version") | Some("version") => {
            println!("rvisor {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("help") | Some("--help") | Some("-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(_) => oci::main(args),
        None => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
