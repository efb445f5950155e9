"""Every parser, fed mutated fixtures and arbitrary bytes, raises nothing but the project's
errors (tests/fuzz_targets.py lists the targets); the inputs the fuzzing campaign found
(``tests/corpus/<target>/``, ``make fuzz``) stay fixed.

Small example budgets here; ``make fuzz`` runs the same targets under atheris for at least
100,000 executions each (docs/robustness.md).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_strategies import mutated
from fuzz_targets import CORPUS, EXPECTED, TARGETS, build_seeds, corpus_inputs

#: Targets whose single execution takes milliseconds (a whole Go ELF, a pclntab) get fewer examples.
_SLOW = {"go": 6, "pclntab": 10, "pe": 25, "imx": 25}


def _run(name: str, data: bytes) -> None:
    try:
        TARGETS[name].run(data)
    except EXPECTED as exc:
        assert str(exc) and "\n" not in str(exc), f"{name}: an error must be one line, got {str(exc)!r}"


@pytest.fixture(scope="module", params=sorted(TARGETS))
def seeded(request):
    return request.param, build_seeds(request.param)


def test_seeds_are_accepted(seeded):
    """The fixtures the mutations start from parse (else the fuzzing would test only errors)."""
    name, seeds = seeded
    assert seeds
    for seed in seeds:
        TARGETS[name].run(seed)  # no error of any kind: a refused seed would fuzz only the refusal


def test_mutated_seeds_raise_only_project_errors(seeded):
    name, seeds = seeded

    @settings(max_examples=_SLOW.get(name, 40), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutated(seeds))
    def check(data: bytes) -> None:
        _run(name, data)

    check()


@pytest.mark.parametrize("name", sorted(TARGETS))
@settings(max_examples=30, deadline=None, database=None)
@given(data=st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_project_errors(name, data):
    _run(name, data)


def _corpus():
    return [pytest.param(name, path, id=f"{name}/{path.name}") for name in sorted(TARGETS)
            for path in corpus_inputs(name)]


@pytest.mark.parametrize("name,path", _corpus())
def test_corpus_input_stays_fixed(name, path):
    """A finding of the campaign, kept as a regression input: only project errors now."""
    _run(name, path.read_bytes())


def test_corpus_folders_name_targets():
    """Every folder under tests/corpus is a target (a renamed target must move its inputs)."""
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()} if CORPUS.is_dir() else set()
    assert folders <= set(TARGETS), folders - set(TARGETS)
    assert any(corpus_inputs(n) for n in TARGETS), "the regression corpus is empty"
