import pytest

from tvdb.modes import effective_modes, set_mode


def test_default_is_mock(sessions):
    assert {s: (d.mode, d.source) for s, d in effective_modes(sessions).items()} == {
        "llamaparse": ("mock", "default"), "openai": ("mock", "default")}


def test_environment_then_per_service_environment(sessions, monkeypatch):
    monkeypatch.setenv("SERVICE_MODE", "hybrid")
    monkeypatch.setenv("SERVICE_MODE_OPENAI", "real")
    modes = effective_modes(sessions)
    assert (modes["llamaparse"].mode, modes["llamaparse"].source) == ("hybrid", "SERVICE_MODE")
    assert (modes["openai"].mode, modes["openai"].source) == ("real", "SERVICE_MODE_OPENAI")


def test_database_override_wins_and_can_be_cleared(sessions, monkeypatch):
    monkeypatch.setenv("SERVICE_MODE", "real")
    set_mode(sessions, "hybrid")
    set_mode(sessions, "mock", service="openai")
    modes = effective_modes(sessions)
    assert (modes["llamaparse"].mode, modes["openai"].mode) == ("hybrid", "mock")
    assert modes["openai"].source.startswith("database override")
    set_mode(sessions, None)
    assert {d.mode for d in effective_modes(sessions).values()} == {"real"}


@pytest.mark.parametrize("mode, service, message", [("turbo", None, "mode must be"), ("mock", "cohere", "unknown service")])
def test_bad_values_are_refused(sessions, mode, service, message):
    with pytest.raises(ValueError, match=message):
        set_mode(sessions, mode, service)
