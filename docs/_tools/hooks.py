"""MkDocs hooks of the documentation site (``hooks:`` in ``mkdocs.yml``).

- Generated pages: ``cli.md`` from the argparse parsers and ``figures/coordinate_maps.png`` from
  the coordinate functions, both made at build time so that neither can drift from the code.
- After the build, every public name (each public module's ``__all__``) must be in the site's
  object inventory; a missing one is a warning, so the strict build fails.
- Known docstring warnings: the exact warnings listed in ``known_warnings.KNOWN_WARNINGS``, and
  no others, are logged at INFO level (still printed, marked as known) instead of failing the
  build; an entry that no longer occurs is a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

import api_names
import cli_page
import coord_figure
from known_warnings import KNOWN_WARNINGS, known_warning
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

_log = logging.getLogger("mkdocs.plugins.coordbias_docs")


class _KnownWarnings(logging.Filter):
    """Downgrades the warnings of ``KNOWN_WARNINGS`` to INFO and remembers which occurred."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING:
            entry = known_warning(record.getMessage())
            if entry:
                self.seen[entry] = self.seen.get(entry, 0) + 1
                record.levelno, record.levelname = logging.INFO, "INFO"
                record.msg, record.args = f"known docstring issue: {record.getMessage()}", ()
        return True


_filter = _KnownWarnings()


def on_config(config):
    _filter.seen.clear()
    # griffe logs through this logger (mkdocstrings patches it); the filter sees its records.
    logging.getLogger("mkdocs.plugins.griffe").addFilter(_filter)
    return config


def on_files(files, config):
    from coordbias.cli.main import build_parser

    files.append(File.generated(config, "cli.md", content=cli_page.cli_markdown(build_parser())))
    files.append(
        File.generated(config, "figures/coordinate_maps.png", content=coord_figure.png_bytes())
    )
    return files


@event_priority(-100)  # after mkdocstrings has written objects.inv
def on_post_build(config):
    logging.getLogger("mkdocs.plugins.griffe").removeFilter(_filter)
    pkg = api_names.load_package(Path(config.config_file_path).parent)
    missing = api_names.missing_from_site(pkg, Path(config.site_dir))
    for name in missing:
        _log.warning(f"public name {name} is not documented on any page")
    total = len(api_names.public_names(pkg))
    _log.info(f"API reference: {total - len(missing)} of {total} public names documented")
    if _filter.seen:
        count = sum(_filter.seen.values())
        _log.info(f"{count} known docstring warnings (known_warnings.py) downgraded to INFO")
    for entry in KNOWN_WARNINGS:
        if entry not in _filter.seen:
            _log.warning(f"KNOWN_WARNINGS entry no longer occurs, delete it: {entry}")
