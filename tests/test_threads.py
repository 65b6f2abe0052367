"""annotate.runtime.threads: background stages hand the GIL over quickly, and restore the interval."""

from __future__ import annotations

import sys

import pytest

from annotate.runtime.threads import prefetch, quick_handoff


def test_prefetch_shortens_the_switch_interval_while_it_runs_and_restores_it():
    before = sys.getswitchinterval()
    seen = []
    outer = prefetch(iter(range(3)), size=1)
    for item in outer:
        seen.append(sys.getswitchinterval())
        inner = list(prefetch(iter(range(2)), size=1))  # nested: the outer one is still running
        assert inner == [0, 1]
        seen.append(sys.getswitchinterval())
    assert max(seen) <= 0.0002 < before
    assert sys.getswitchinterval() == before


def test_the_interval_comes_back_after_an_error_and_is_never_raised():
    before = sys.getswitchinterval()

    def broken():
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(prefetch(broken()))
    assert sys.getswitchinterval() == before
    sys.setswitchinterval(0.0001)
    try:
        with quick_handoff():
            assert sys.getswitchinterval() < 0.00011  # not raised to 0.2 ms
    finally:
        sys.setswitchinterval(before)
