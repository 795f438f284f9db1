"""The attack registry is the one source of defaults: a function's own default never drifts from it."""

import inspect

import pytest

from advcore import attacks


def signature_defaults(fn) -> dict:
    """Keyword defaults of an attack function; wrappers that pass **kw on are followed to their target
    (apgd_ce -> apgd)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        target = getattr(inspect.getmodule(fn), fn.__name__.rsplit("_", 1)[0])
        return signature_defaults(target)
    return {name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty}


@pytest.mark.parametrize("name", list(attacks.ATTACKS))
def test_function_defaults_equal_registry_defaults(name):
    spec = attacks.ATTACKS[name]
    own = signature_defaults(spec.fn)
    for param in spec.params:
        if param.name in own:
            assert own[param.name] == param.default, (name, param.name, own[param.name], param.default)


def test_wrappers_are_checked_through_their_target():
    """apgd-ce and apgd-dlr take **kw: their defaults are apgd's, so those are compared too."""
    own = signature_defaults(attacks.ATTACKS["apgd-ce"].fn)
    assert own["steps"] == 100 and "restarts" in own
