"""`vsearch serve`: the web page and HTTP API over one library."""

from __future__ import annotations

import click

from vsearch.cli.options import library_option, settings_from
from vsearch.server import ServerConfig, serve
from vsearch.server.config import DEFAULT_HOST, DEFAULT_PORT
from vsearch.settings import Settings

HELP = Settings.help_texts()


@click.command("serve")
@library_option
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to listen on; anything but loopback needs --token.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option("--token", envvar="VSEARCH_TOKEN", default=None,
              help="Secret each API and media request must carry [env VSEARCH_TOKEN].")  # fmt: skip
@click.option("--grounding", type=click.Choice(["r2", "zero-shot"]), default="r2",
              show_default=True, help="Grounding model loaded at start-up.")  # fmt: skip
@click.option("--device", default=None, help=HELP["device"])
def serve_command(host: str, port: int, token: str | None, grounding: str, **options) -> None:
    """Serve a web page and a JSON API to search, watch and export moments (Ctrl-C stops)."""
    config = ServerConfig(host=host, port=port, token=token)

    def started(url: str) -> None:
        click.echo(f"serving {url} (models load in the background; Ctrl-C stops)", err=True)

    serve(settings_from(options), config, grounding=grounding, on_started=started)
