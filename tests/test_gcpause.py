"""The workflow pauses the cyclic collector around bulk work and always restores it."""

from __future__ import annotations

import gc

import pytest

from modelsched.gcpause import paused_gc


@pytest.mark.parametrize("was_enabled", [True, False], ids=["collector was on", "collector was off"])
def test_the_pause_restores_the_collector_as_it_found_it_even_after_an_exception(was_enabled: bool) -> None:
    (gc.enable if was_enabled else gc.disable)()
    try:
        with pytest.raises(ZeroDivisionError), paused_gc():
            assert not gc.isenabled()
            1 / 0  # noqa: B018
        assert gc.isenabled() is was_enabled
        with paused_gc(), paused_gc():
            pass
        assert gc.isenabled() is was_enabled
    finally:
        gc.enable()
