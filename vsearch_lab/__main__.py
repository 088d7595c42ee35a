"""Entry point of `python -m vsearch_lab`."""

from vsearch_lab.cli import main

main(prog_name="python -m vsearch_lab")
