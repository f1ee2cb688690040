from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from api.formatting import euro, nl_date, nl_number
from api.security import hash_password, verify_password


def test_dutch_number_format() -> None:
    assert nl_number(1234567.891, 2) == "1.234.567,89"
    assert nl_number(0) == "0"
    assert euro(498.2) == "€ 498,20"
    assert euro(None) == "–"
    assert nl_date(date(2026, 12, 1)) == "1 december 2026"


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_nl_number_round_trips_integers(value: int) -> None:
    assert int(nl_number(value).replace(".", "")) == value


def test_password_hash_verifies_only_the_right_password() -> None:
    hashed = hash_password("geheim")
    assert verify_password(hashed, "geheim")
    assert not verify_password(hashed, "Geheim")
    assert not verify_password(None, "geheim")
    assert not verify_password("garbage", "geheim")
