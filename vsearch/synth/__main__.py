"""Entry point of `python -m vsearch.synth`."""

from vsearch.synth.cli import main

main(prog_name="python -m vsearch.synth")
