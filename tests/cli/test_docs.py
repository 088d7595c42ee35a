"""The docs cannot drift from the code: every setting and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from vsearch.cli.app import COMMANDS
from vsearch.errors import VsearchError
from vsearch.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_documented_with_its_help_text() -> None:
    text = (DOCS / "configuration.md").read_text()
    for name, help_text in Settings.help_texts().items():
        assert f"`{name}`" in text, name
        assert help_text in text, name


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    for name in COMMANDS:
        assert f"vsearch {name}" in text, name


def test_every_exit_code_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    codes = {VsearchError.exit_code}
    stack = [VsearchError]
    while stack:
        cls = stack.pop()
        codes.add(cls.exit_code)
        stack.extend(cls.__subclasses__())
    for code in codes:
        assert f"| {code} |" in text, code


def test_readme_links_point_to_existing_docs() -> None:
    root = DOCS.parent
    readme = (root / "README.md").read_text()
    links = re.findall(r"\]\(((?:docs/)[^)#]+)\)", readme)
    assert links, "README should link the docs"
    for link in links:
        assert (root / link).is_file(), link
