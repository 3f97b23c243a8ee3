"""Alembic, run from code: at start-up and by `central-logger migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from central_logger.settings import to_sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Percent signs in the URL would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", to_sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
