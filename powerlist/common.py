"""What every command of the ``powerlist`` command line shares: the database it works on
(:class:`State`), reporting errors with their exit codes, JSON output, parsing ids and data.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from engine.errors import DefinitionInvalid, PowerlistError
from engine.messages import describe


class State:
    def __init__(self) -> None:
        self._engine = None
        self.may_create = False  # init and demo create the database; other commands need it to exist

    @property
    def engine(self):
        if self._engine is None:
            from engine.persistence.db import make_engine, missing_default_database

            missing = missing_default_database()
            if missing is not None and not self.may_create:
                fail(
                    f"no database at {missing} (the default: instance/powerlist.sqlite under the current folder). "
                    "Run this command from the folder that holds the instance/ folder, or point at the database "
                    "with POWERLIST_INSTANCE=/path/to/instance or POWERLIST_DATABASE_URL=sqlite:////path/to/file; "
                    "'powerlist init' creates a new one here",
                    1,
                )
            self._engine = make_engine()
        return self._engine

    def announce_database(self, creating: bool) -> None:
        """Let this command create the database, and say where when it does (on standard error)."""
        from engine.persistence.db import database_url, sqlite_file

        self.may_create = creating
        if self._engine is not None:
            return
        file = sqlite_file(database_url())
        if file is not None and not file.exists():
            click.echo(f"creating the database {file}", err=True)
            file.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        from engine.persistence.db import make_sessionmaker

        with make_sessionmaker(self.engine)() as session, session.begin():
            yield session


pass_state = click.make_pass_decorator(State, ensure=True)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def reports_errors(func: Callable) -> Callable:
    """Turn engine and database errors into one clear line and an exit code, never a traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            check_arguments(kwargs)
            return func(*args, **kwargs)
        except DefinitionInvalid as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            sys.exit(2)
        except PowerlistError as exc:
            fail(describe(exc, os.environ.get("POWERLIST_LANG", "zh")), exc.exit_code)
        except (OperationalError, ProgrammingError) as exc:
            text = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
            if "no such table" in text or "does not exist" in text:
                fail("the database is not set up: run 'powerlist init' first", 1)
            fail(f"database error: {text.splitlines()[0]}", 3)
        except IntegrityError as exc:
            fail(f"conflicting change, nothing was written: {str(exc.orig).splitlines()[0]}", 1)

    return wrapper


def parse_data(text: str | None) -> dict[str, Any]:
    """A ``--data`` value: a JSON object given inline or as ``@file``, through the one input reader.

    ``null``, a list or a number is refused, as are non-finite numbers, oversized integers and
    texts, deep nesting and a file that is not UTF-8 (each exits 2 naming the field or the file).
    """
    from engine.inputs import limit, read_object

    if text is None:
        return {}
    if text.startswith("@"):
        name = text[1:]
        try:
            with open(name, "rb") as handle:
                raw = handle.read(limit("max_body_bytes") + 1)
        except OSError as exc:
            raise click.BadParameter(f"cannot read {name}: {exc.strerror}", param_hint="--data") from exc
        return read_object(raw, "data", source=name)
    return read_object(text, "data")


def check_arguments(values: dict[str, Any]) -> None:
    """Every text argument is checked like JSON text: no lone surrogate (a non-UTF-8 argument),
    no text beyond the maximum; the refusal exits 2 naming the option."""
    from engine.inputs import check_text

    for name, value in values.items():
        if name == "data":
            continue  # read by parse_data, with the limits of a JSON body
        for item in value if isinstance(value, tuple | list) else (value,):
            if isinstance(item, str):
                check_text(item, "--" + name.replace("_", "-"))


def check_title(title: str | None) -> None:
    """A ``--title`` longer than a matter's title may be is refused, never cut."""
    if title is None:
        return
    from engine.inputs import InputInvalid
    from engine.workspace.operations import TITLE_LENGTH

    if len(title.strip()) > TITLE_LENGTH[1]:
        raise InputInvalid(
            f"--title：事项名称太长了（{len(title.strip())} 个字，最多 {TITLE_LENGTH[1]} 个字）",
            code="input.string_too_long",
            params={"field": "--title", "max": TITLE_LENGTH[1]},
            field="title",
        )


class IdType(click.ParamType):
    """A database id: a whole number from 1 to what the column holds; anything else exits 2."""

    name = "id"

    def __init__(self, big: bool = True) -> None:
        self.big = big

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from engine.persistence.ids import max_id, parse_id

        number = parse_id(value, self.big)
        if number is None:
            self.fail(f"{str(value)[:40]!r} is not an id (a whole number from 1 to {max_id(self.big)})", param, ctx)
        return number


ID = IdType()  # ids of BigId columns (matters, violations, uploads)
SMALL_ID = IdType(big=False)  # ids of Integer columns (tokens, users, units)


class TaskIdType(click.ParamType):
    """An open task's id (a UUID, as ``powerlist tasks`` lists it); anything else exits 2."""

    name = "task"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from engine.workspace.matter_detail import uuid_or_none

        found = uuid_or_none(value) if isinstance(value, str) and len(value) <= 64 else None
        if found is None:
            self.fail(f"{str(value)[:40]!r} is not a task id (see 'powerlist tasks')", param, ctx)
        return found


TASK = TaskIdType()
