"""The ``analyzer`` command. Subcommands live in ``analyzer.commands.*`` and load lazily,
so ``analyzer parse`` never pays for importing torch."""

from __future__ import annotations

import importlib
import sys

import click

from analyzer.errors import AnalyzerError

# name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "parse": "analyzer.commands.parse:parse",
    "train": "analyzer.commands.train:train",
    "evaluate": "analyzer.commands.evaluate:evaluate",
    "score": "analyzer.commands.score:score",
    "ingest": "analyzer.commands.ingest:ingest",
    "threads": "analyzer.commands.threads:threads",
    "report": "analyzer.commands.report:report",
    "export": "analyzer.commands.export:export",
    "demo": "analyzer.commands.demo:demo",
    "serve": "analyzer.commands.serve:serve",
    "apikey": "analyzer.commands.serve:apikey",
    "fetch": "analyzer.commands.fetch:fetch",
    "rules": "analyzer.commands.rules:rules",
    "alerts": "analyzer.commands.alerts:alerts",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="thread-analyzer")
def cli() -> None:
    """Thread Analyzer: parse comment sections into reply trees, score them for
    toxicity and sentiment with local models, store and explore them."""


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    try:
        rc = cli.main(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except AnalyzerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
