"""What every exercises module must do, tested once over all of them (mgie_lessons/exercises/*.py).

The module-specific checks (values by hand, the hint each typical mistake gets) stay in
tests/test_exercises_<topic>.py. tests/test_exercise_catalogue.py checks the book against the
checkers (every checker has an exercise in its chapter).
"""

import numpy as np
import pytest

from mgie_lessons.exercises import registry

MODULES = registry.exercise_modules()
SOLUTIONS = registry.all_solutions(modules=MODULES)
CHECKERS = registry.all_checkers(modules=MODULES)
CHOICES = sorted(label for label, value in SOLUTIONS.items() if registry.kind_of(value) == "choice")


def test_every_exercises_module_is_found():
    assert {module.topic for module in MODULES} >= {"tokens", "attention", "ffn", "visual_tokens", "diffusion",
                                                    "losses", "errata", "schedules", "guidance", "edit_head",
                                                    "blending", "end_to_end", "learning"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.topic)
def test_solutions_cover_exactly_the_modules_checkers(module):
    assert module.error is None, module.error
    own = {registry.label_for_checker(name) for name in module.checkers if name.startswith(f"check_{module.topic}_ex_")}
    assert own and set(module.solutions) == own


@pytest.mark.parametrize("label", sorted(SOLUTIONS))
def test_every_solution_passes_its_checker(label):
    feedback = CHECKERS[registry.canonical_label(label)].function(SOLUTIONS[label])
    assert feedback.correct, feedback.message


@pytest.mark.parametrize("label", CHOICES)
def test_multiple_choice_reads_letters_as_the_book_prints_them(label):
    checker, correct = CHECKERS[registry.canonical_label(label)].function, SOLUTIONS[label]
    for answer in (correct.lower(), correct.upper(), f" ({correct}) ", f"**{correct}.**"):
        assert checker(answer).correct, answer
    wrong = [checker(letter) for letter in "abcde" if letter != correct.lower()]
    offered = [feedback for feedback in wrong if "one letter" not in feedback.message]
    assert len(offered) >= 3 and not any(offered)
    assert len({feedback.message for feedback in offered}) == len(offered), "each wrong letter has its own hint"
    assert "one letter" in checker("z").message and "one letter" in checker(2).message


@pytest.mark.parametrize("label", sorted(CHECKERS))
@pytest.mark.parametrize("garbage", [None, "nonsense", float("nan"), np.zeros((7, 3))], ids=repr)
def test_a_meaningless_answer_is_wrong_never_an_exception(label, garbage):
    feedback = CHECKERS[label].function(garbage)
    assert not feedback.correct and feedback.message
