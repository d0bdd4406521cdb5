"""A UTC column's text on SQLite is the very text SQLAlchemy's DATETIME writes (stored
times are compared as text), and naive times are refused on every database."""

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from mailbot.adapters.db.orm import UTCDateTime

LONDON = ZoneInfo("Europe/London")


def times() -> list[dt.datetime]:
    rng = random.Random(7)
    made = [dt.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=dt.UTC),  # before BST starts
            dt.datetime(2026, 10, 25, 1, 30, tzinfo=LONDON),  # the hour that repeats
            dt.datetime(2026, 12, 25, tzinfo=LONDON),
            dt.datetime(1, 1, 2, tzinfo=dt.UTC), dt.datetime(9999, 12, 30, tzinfo=dt.UTC)]
    for _ in range(500):
        micro = rng.choice((0, 1, 999999, rng.randrange(10**6)))
        naive = dt.datetime(2000, 1, 1) + dt.timedelta(seconds=rng.randrange(2 * 10**9),
                                                       microseconds=micro)
        made.append(naive.replace(tzinfo=rng.choice((dt.UTC, LONDON,
                                                     dt.timezone(dt.timedelta(hours=-5))))))
    return made


def test_sqlite_text_is_sqlalchemys_own() -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    stock = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and stock is not None
    for value in times():
        assert ours(value) == stock(value.astimezone(dt.UTC).replace(tzinfo=None)), value
    assert ours(None) is None


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_a_naive_time_is_refused(dialect: object) -> None:
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)  # type: ignore[arg-type]
    assert process is not None
    with pytest.raises(ValueError, match="naive"):
        process(dt.datetime(2026, 1, 1))
