"""Tests for chapter 9's exercise checkers: solutions pass, typical mistakes get their hint."""

import pytest

from mgie_lessons import guidance
from mgie_lessons.exercises import guidance as E


def test_ex1_letters():
    assert E.check_guidance_ex_1("(b)").correct
    assert "Only for s = 1" in E.check_guidance_ex_1("a").message
    assert "cancel" in E.check_guidance_ex_1("c").message
    assert "affine" in E.check_guidance_ex_1("d").message


def test_ex2_by_hand():
    # 0.2 + 1.5 * (0.5 - 0.2) + 7.5 * (0.6 - 0.5) = 1.4, written out
    assert E.check_guidance_ex_2(1.4).correct
    assert "swapped" in E.check_guidance_ex_2(0.2 + 7.5 * 0.3 + 1.5 * 0.1).message
    assert "measured from the image-only" in E.check_guidance_ex_2(0.2 + 1.5 * 0.3 + 7.5 * 0.4).message
    assert "starting point" in E.check_guidance_ex_2(1.5 * 0.3 + 7.5 * 0.1).message
    assert "both scales 1" in E.check_guidance_ex_2(0.6).message


def test_ex3_mistakes():
    def swapped(e0, ev, evu, sv, sx):
        return e0 + sx * (ev - e0) + sv * (evu - ev)

    def from_uncond(e0, ev, evu, sv, sx):
        return e0 + sv * (ev - e0) + sx * (evu - e0)

    def no_base(e0, ev, evu, sv, sx):
        return sv * (ev - e0) + sx * (evu - ev)

    assert "swapped" in E.check_guidance_ex_3(swapped).message
    assert "starts from eps_image" in E.check_guidance_ex_3(from_uncond).message
    assert "Add the starting point" in E.check_guidance_ex_3(no_base).message
    assert not E.check_guidance_ex_3(lambda *a: 1 / 0).correct


def test_ex4_shapes():
    assert E.check_guidance_ex_4((8, 64, 64)).correct
    assert E.check_guidance_ex_4([8, 64, 64]).correct
    assert "one latent" in E.check_guidance_ex_4((4, 64, 64)).message
    assert "downsamples by 8" in E.check_guidance_ex_4((8, 512, 512)).message
    assert "channel axis" in E.check_guidance_ex_4((4, 128, 64)).message
    assert "never sees pixels" in E.check_guidance_ex_4((6, 512, 512)).message


def test_ex5_exploration():
    # independent: outside the hat the guided clean latent is s_V * (2/3) * E(V), so at s_V = 1 the change
    # is (1/3) * mean |E(V)| over the 4 channels of the 12 cells outside the hat region
    from mgie_lessons import schedules
    from mgie_lessons.images import toy_image
    import numpy as np

    latent = guidance.toy_encode(schedules.to_model_range(toy_image(32)))
    outside = guidance.latent_region_mask("hat") == 0
    expected = np.abs(latent[:, outside]).mean() / 3
    assert E.outside_change(1.0) == pytest.approx(expected)
    assert E.check_guidance_ex_5(expected).correct
    assert E.check_guidance_ex_5(round(expected, 3)).correct      # a value read off the panel (3 decimals)
    assert "default s_V = 1.5" in E.check_guidance_ex_5(0.0).message
    assert "s_V = 0" in E.check_guidance_ex_5(E.outside_change(0.0)).message
    assert "s_V = 3 also" in E.check_guidance_ex_5(E.outside_change(3.0)).message
    assert "last line under the figure" in E.check_guidance_ex_5(0.3).message


def test_ex6_dropout_share():
    assert E.check_guidance_ex_6(0.05).correct
    assert "half also lose the image" in E.check_guidance_ex_6(0.10).message
    assert "any condition dropped" in E.check_guidance_ex_6(0.15).message
    assert "keeps both" in E.check_guidance_ex_6(0.85).message
    assert guidance.dropout_fractions()["instruction dropped"] == 0.05


# --- Issue 11, item 9: answers at the stated precision pass, wrong ones are told what is wrong ---

def test_ex5_accepts_the_panels_three_decimals():
    shown = round(E.outside_change(1.0), E.EX5_DECIMALS)
    assert E.check_guidance_ex_5(shown).correct
    assert not E.check_guidance_ex_5(shown + 0.01).correct
    assert "too low" in E.check_guidance_ex_5(0.5).message


def test_ex2_and_ex6_directions():
    assert E.check_guidance_ex_2(1.4).correct
    assert "too high" in E.check_guidance_ex_2(1.5).message
    assert "too high" in E.check_guidance_ex_6(0.07).message
