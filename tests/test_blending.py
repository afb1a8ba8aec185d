"""Tests for chapter 11: feature blending, mask resizing, cross-attention masking, the toy edit."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mgie_lessons import attention, blending
from mgie_lessons.images import region_mask, toy_image

finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
unit = st.floats(0, 1, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------
# Eq. 11.1: blend_features
# ---------------------------------------------------------------------------

def test_blend_with_mask_one_gives_h_and_mask_zero_gives_h_ref():
    rng = np.random.default_rng(1)
    h, h_ref = rng.normal(size=(4, 4, 3)), rng.normal(size=(4, 4, 3))
    np.testing.assert_array_equal(blending.blend_features(h, h_ref, np.ones((4, 4))), h)
    np.testing.assert_array_equal(blending.blend_features(h, h_ref, np.zeros((4, 4))), h_ref)


def test_blend_by_hand():
    h = [[1.0, 2.0], [3.0, 4.0]]
    h_ref = [[0.0, 0.0], [1.0, 0.0]]
    m = [[1.0, 0.0], [0.5, 0.25]]
    # 1*1 + 0*0 = 1; 2*0 + 0*1 = 0; 3*0.5 + 1*0.5 = 2; 4*0.25 + 0*0.75 = 1
    np.testing.assert_allclose(blending.blend_features(h, h_ref, m), [[1.0, 0.0], [2.0, 1.0]])


def test_blend_applies_the_mask_to_every_channel():
    h = np.ones((1, 2, 3))
    h_ref = np.zeros((1, 2, 3))
    out = blending.blend_features(h, h_ref, [[0.25, 1.0]])
    np.testing.assert_allclose(out[0, 0], [0.25, 0.25, 0.25])
    np.testing.assert_allclose(out[0, 1], [1.0, 1.0, 1.0])


@given(arrays(float, (3, 3), elements=finite), arrays(float, (3, 3), elements=finite),
       arrays(float, (3, 3), elements=unit))
def test_blend_lies_between_h_and_h_ref(h, h_ref, m):
    out = blending.blend_features(h, h_ref, m)
    assert np.all(out >= np.minimum(h, h_ref) - 1e-12)
    assert np.all(out <= np.maximum(h, h_ref) + 1e-12)
    # it is h_ref moved by the fraction m of the way to h
    np.testing.assert_allclose(out - h_ref, m * (h - h_ref), atol=1e-12)


def test_exact_blend_agrees_with_numeric():
    h = [[0.9, 0.1], [0.3, 0.7]]
    h_ref = [[0.5, 0.5], [0.2, 0.4]]
    m = [[0.125, 1.0], [0.0, 0.5]]
    exact = blending.exact_blend_features(h, h_ref, m)
    assert exact[0, 0] == pytest.approx(0.55)          # 0.9/8 + 0.5*7/8 = 0.55
    assert str(exact[0, 0]) == "11/20"
    np.testing.assert_allclose(np.array(exact.evalf(), dtype=float), blending.blend_features(h, h_ref, m))


@pytest.mark.parametrize("kwargs, name", [
    (dict(h=[[1.0]], h_ref=[[1.0, 2.0]], mask=[[1.0]]), "h_ref"),
    (dict(h=[[1.0]], h_ref=[[1.0]], mask=[[1.5]]), "mask"),
    (dict(h=[[1.0]], h_ref=[[1.0]], mask=[[-0.1]]), "mask"),
    (dict(h=[[np.nan]], h_ref=[[1.0]], mask=[[1.0]]), "h"),
    (dict(h=[1.0, 2.0], h_ref=[1.0, 2.0], mask=[1.0, 1.0]), "h"),
    (dict(h=[[1.0, 2.0]], h_ref=[[1.0, 2.0]], mask=[[1.0]]), "mask"),
])
def test_blend_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        blending.blend_features(**kwargs)


# ---------------------------------------------------------------------------
# Eq. 11.2: resize_mask
# ---------------------------------------------------------------------------

def test_resize_small_mask_by_hand():
    mask = np.array([
        [1, 1, 0, 0],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 1, 1],
    ], dtype=float)
    np.testing.assert_allclose(blending.resize_mask(mask, 2), [[0.75, 0.0], [0.0, 0.5]])
    np.testing.assert_allclose(blending.resize_mask(mask, 2, threshold=0.5), [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(blending.resize_mask(mask, 1), [[5 / 16]])
    np.testing.assert_array_equal(blending.resize_mask(mask, 4), mask)


def test_resize_hat_mask_to_8x8_by_counting():
    # The hat covers rows 4-9 and columns 11-20 of the 32x32 image; a cell of the 8x8 level is a
    # 4x4 block. Rows 4-7 are all hat, rows 8-11 have two hat rows (8, 9); columns 8-11 have one
    # hat column (11), 12-15 and 16-19 all four, 20-23 one (20).
    resized = blending.resize_mask(region_mask("hat"), 8)
    expected = np.zeros((8, 8))
    expected[1, 2:6] = [1 * 4 / 16, 1.0, 1.0, 1 * 4 / 16]
    expected[2, 2:6] = [2 * 1 / 16, 2 * 4 / 16, 2 * 4 / 16, 2 * 1 / 16]
    assert resized.shape == (8, 8)
    np.testing.assert_allclose(resized, expected)
    # exactly 1/2 is not above the threshold 1/2 (PFB-Diff keeps values > 0.5)
    thresholded = blending.resize_mask(region_mask("hat"), 8, threshold=0.5)
    assert thresholded[2, 3] == 0.0 and thresholded[1, 3] == 1.0
    assert thresholded.sum() == 2


def test_resize_hat_mask_every_level_shape_and_mean():
    mask = region_mask("hat")
    for size in (32, 16, 8, 4, 2, 1):
        resized = blending.resize_mask(mask, size)
        assert resized.shape == (size, size)
        assert resized.mean() == pytest.approx(60 / 1024)   # average pooling keeps the mean
        assert resized.min() >= 0 and resized.max() <= 1


def test_resize_rectangular_shape():
    mask = np.zeros((4, 8))
    mask[:, :2] = 1
    np.testing.assert_allclose(blending.resize_mask(mask, (2, 4)), [[1, 0, 0, 0], [1, 0, 0, 0]])


def test_exact_resize_mask_agrees_and_gives_fractions():
    mask = region_mask("hat")
    exact = blending.exact_resize_mask(mask, 8)
    assert str(exact[2, 2]) == "1/8"
    np.testing.assert_allclose(np.array(exact.evalf(), dtype=float), blending.resize_mask(mask, 8))
    exact_thr = blending.exact_resize_mask(mask, 8, threshold=0.5)
    np.testing.assert_array_equal(np.array(exact_thr, dtype=float), blending.resize_mask(mask, 8, threshold=0.5))


@pytest.mark.parametrize("shape, kwargs, name", [
    (5, {}, "shape"),
    ((16, 8), {}, "shape"),
    (0, {}, "shape"),
    ((1, 2, 3), {}, "shape"),
    (8, {"threshold": 1.5}, "threshold"),
    (8, {"threshold": float("nan")}, "threshold"),
])
def test_resize_validation(shape, kwargs, name):
    with pytest.raises(ValueError, match=name):
        blending.resize_mask(region_mask("hat"), shape, **kwargs)


def test_resize_rejects_bad_masks():
    with pytest.raises(ValueError, match="mask"):
        blending.resize_mask([[0.0, 2.0], [0.0, 0.0]], 1)
    with pytest.raises(ValueError, match="mask"):
        blending.resize_mask([[0.0, np.nan], [0.0, 0.0]], 1)
    with pytest.raises(ValueError, match="mask"):
        blending.resize_mask([], 1)


# ---------------------------------------------------------------------------
# Eq. 11.3 and progressive_blend, blend_schedule
# ---------------------------------------------------------------------------

def test_feature_pyramid_shapes_and_values():
    image = toy_image(32)
    pyramid = blending.feature_pyramid(image, 4)
    assert [p.shape for p in pyramid] == [(32, 32, 3), (16, 16, 3), (8, 8, 3), (4, 4, 3)]
    np.testing.assert_array_equal(pyramid[0], image)
    # top-left 4x4 cell of level 2 is pure sky
    np.testing.assert_allclose(pyramid[2][0, 0], [0.55, 0.75, 0.95])
    for level in pyramid:
        np.testing.assert_allclose(level.mean(axis=(0, 1)), image.mean(axis=(0, 1)))


def test_feature_pyramid_validation():
    with pytest.raises(ValueError, match="n_levels"):
        blending.feature_pyramid(toy_image(32), 7)
    with pytest.raises(ValueError, match="n_levels"):
        blending.feature_pyramid(toy_image(32), 0)
    with pytest.raises(ValueError, match="image"):
        blending.feature_pyramid(np.zeros((4, 8)), 1)


def test_progressive_blend_blends_only_chosen_levels():
    rng = np.random.default_rng(3)
    mask = region_mask("hat")
    h = [rng.random((s, s, 3)) for s in (32, 16, 8, 4)]
    h_ref = [rng.random((s, s, 3)) for s in (32, 16, 8, 4)]
    out = blending.progressive_blend(h, h_ref, mask, levels=(0, 2))
    np.testing.assert_allclose(out[0], blending.blend_features(h[0], h_ref[0], mask))
    np.testing.assert_allclose(out[2], blending.blend_features(h[2], h_ref[2], blending.resize_mask(mask, 8)))
    np.testing.assert_array_equal(out[1], h[1])
    np.testing.assert_array_equal(out[3], h[3])
    # all levels by default; at level 3 no cell is fully hat, so nothing keeps its edited value
    everything = blending.progressive_blend(h, h_ref, mask)
    assert not np.any(np.isclose(everything[3], h[3]) & ~np.isclose(h[3], h_ref[3]))


def test_progressive_blend_validation():
    h = [np.zeros((4, 4)), np.zeros((2, 2))]
    mask = np.zeros((4, 4))
    with pytest.raises(ValueError, match="reference_by_level"):
        blending.progressive_blend(h, h[:1], mask)
    with pytest.raises(ValueError, match="levels"):
        blending.progressive_blend(h, h, mask, levels=(2,))
    with pytest.raises(ValueError, match="levels"):
        blending.progressive_blend(h, h, mask, levels=(0, 0))
    with pytest.raises(ValueError, match="features_by_level"):
        blending.progressive_blend([], [], mask)


def test_blend_schedule_first_k_steps():
    np.testing.assert_array_equal(blending.blend_schedule(5, 2), [True, True, False, False, False])
    assert not blending.blend_schedule(3, 0).any()
    assert blending.blend_schedule(3, 3).all()
    with pytest.raises(ValueError, match="T"):
        blending.blend_schedule(0, 0)
    with pytest.raises(ValueError, match="blend_steps"):
        blending.blend_schedule(3, 4)
    with pytest.raises(ValueError, match="blend_steps"):
        blending.blend_schedule(3, -1)


# ---------------------------------------------------------------------------
# Eqs. 11.4-11.5: masked cross-attention
# ---------------------------------------------------------------------------

Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])       # three image positions
K = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])       # three tokens
V = np.array([[1.0], [10.0], [100.0]])


def _plain_row(q):
    logits = [float(q @ k) / math.sqrt(2) for k in K]
    exps = [math.exp(v) for v in logits]
    return np.array(exps) / sum(exps)


def test_masked_attention_by_hand():
    # token 1 is restricted to the region; position 1 is outside it
    result = blending.masked_cross_attention(Q, K, V, token_mask=[0, 1, 0], region_mask=[1, 0, 1])
    w = result.weights
    assert w[1, 1] == 0.0                                   # exactly zero, not just small
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[0], _plain_row(Q[0]))     # inside: unchanged
    np.testing.assert_allclose(w[2], _plain_row(Q[2]))
    plain = _plain_row(Q[1])
    renormalised = np.array([plain[0], 0.0, plain[2]]) / (plain[0] + plain[2])
    np.testing.assert_allclose(w[1], renormalised)
    np.testing.assert_allclose(result.output, w @ V)
    assert result.guarded_rows == ()
    assert result.mask[1, 1] == -np.inf and result.mask[0, 1] == 0


def test_masked_attention_accepts_an_image_shaped_region():
    result = blending.masked_cross_attention(np.ones((4, 2)), K, V, [0, 1, 1], [[1, 0], [0, 0]])
    assert np.all(result.weights[1:, 1:] == 0.0)
    assert np.all(result.weights[0, 1:] > 0)


def test_masked_attention_guards_rows_that_would_be_fully_masked():
    # every token restricted, position 1 outside: the row is left unmasked
    result = blending.masked_cross_attention(Q, K, V, token_mask=[1, 1, 1], region_mask=[1, 0, 1])
    assert result.guarded_rows == (1,)
    np.testing.assert_allclose(result.weights[1], _plain_row(Q[1]))
    assert np.all(np.isfinite(result.weights))


def test_masked_attention_outside_tokens():
    # token 2 may only act outside the region (PFB-Diff's words[1])
    result = blending.masked_cross_attention(Q, K, V, [0, 0, 0], [1, 0, 1], outside_token_mask=[0, 0, 1])
    assert result.weights[0, 2] == 0.0 and result.weights[2, 2] == 0.0
    assert result.weights[1, 2] > 0


@given(arrays(float, (5, 3), elements=finite), arrays(float, (4, 3), elements=finite),
       st.lists(st.booleans(), min_size=4, max_size=4), st.lists(st.booleans(), min_size=5, max_size=5))
def test_masked_attention_properties(Qr, Kr, tokens, region):
    result = blending.masked_cross_attention(Qr, Kr, np.eye(4), tokens, region)
    w = result.weights
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    for i, inside in enumerate(region):
        if i in result.guarded_rows:
            continue
        for j, restricted in enumerate(tokens):
            if restricted and not inside:
                assert w[i, j] == 0.0
    # nothing masked -> plain attention
    plain = attention.scaled_dot_product_attention(Qr, Kr, np.eye(4)).weights
    free = blending.masked_cross_attention(Qr, Kr, np.eye(4), [0] * 4, region).weights
    np.testing.assert_allclose(free, plain)


def test_exact_masked_weights_agree():
    exact = blending.exact_masked_attention_weights(Q, K, [0, 1, 0], [1, 0, 1])
    assert exact[1, 1] == 0
    numeric = blending.masked_cross_attention(Q, K, V, [0, 1, 0], [1, 0, 1]).weights
    np.testing.assert_allclose(np.array(exact.evalf(), dtype=float), numeric, rtol=1e-12)


@pytest.mark.parametrize("args, name", [
    ((Q, K, V, [0, 1], [1, 0, 1]), "token_mask"),
    ((Q, K, V, [0, 1, 0], [1, 0]), "region_mask"),
    ((Q, K, V, [0, 1, 0], [1, 0.5, 1]), "region_mask"),
    ((Q, K, V, [0, 2, 0], [1, 0, 1]), "token_mask"),
    ((Q, K[:, :1], V, [0, 1, 0], [1, 0, 1]), "K"),
    ((Q, K, V[:2], [0, 1, 0], [1, 0, 1]), "V"),
    ((np.full((3, 2), np.nan), K, V, [0, 1, 0], [1, 0, 1]), "Q"),
])
def test_masked_attention_validation(args, name):
    with pytest.raises(ValueError, match=name):
        blending.masked_cross_attention(*args)


# ---------------------------------------------------------------------------
# Eqs. 11.6-11.10: the toy edit
# ---------------------------------------------------------------------------

def test_gate_of_the_sky_colour_by_hand():
    sky = np.array([0.55, 0.75, 0.95])
    # logits q . k / sqrt(3) with the keys 6*(0,0,0), 6*(-1,0,1), 6*(-1/2,-1/2,1), 6*(1,0,-1)
    logits = [0.0, 6 * 0.4, 6 * (-0.275 - 0.375 + 0.95), 6 * (0.55 - 0.95)]
    exps = [math.exp(v / math.sqrt(3)) for v in logits]
    expected = (exps[1] + exps[2]) / sum(exps)
    gate = blending.toy_edit_gate(np.tile(sky, (2, 2, 1)))
    np.testing.assert_allclose(gate, expected)


def test_gate_with_masking_is_zero_outside_and_matches_masked_attention():
    image = toy_image(32)
    hard = blending.resize_mask(region_mask("hat"), 32, threshold=0.5)
    gate = blending.toy_edit_gate(image, hard, masking=True)
    assert np.all(gate[hard == 0] == 0.0)
    np.testing.assert_allclose(gate[hard == 1], blending.toy_edit_gate(image)[hard == 1])
    with pytest.raises(ValueError, match="region_mask_level"):
        blending.toy_edit_gate(image, masking=True)
    with pytest.raises(ValueError, match="features"):
        blending.toy_edit_gate(np.zeros((4, 4, 2)))


def test_region_change_by_hand():
    original = np.zeros((2, 2))
    edited = np.array([[0.4, 0.0], [0.1, 0.3]])
    change = blending.region_change(edited, original, [[1, 0], [0, 0]])
    assert change.inside == pytest.approx(0.4)
    assert change.outside == pytest.approx((0.0 + 0.1 + 0.3) / 3)
    with pytest.raises(ValueError, match="mask"):
        blending.region_change(edited, original, np.ones((2, 2)))
    with pytest.raises(ValueError, match="edited"):
        blending.region_change(np.zeros((3, 3)), original, [[1, 0], [0, 0]])


def test_zero_step_size_changes_nothing():
    result = blending.toy_edit(eta=0.0)
    np.testing.assert_array_equal(result.edited, result.original)
    assert result.change_inside == 0.0 and result.change_outside == 0.0


def test_toy_edit_is_deterministic():
    a = blending.toy_edit(blend_levels=(0, 2), blend_steps=3, masking=True)
    b = blending.toy_edit(blend_levels=(0, 2), blend_steps=3, masking=True)
    np.testing.assert_array_equal(a.edited, b.edited)


def test_plain_toy_edit_leaks_outside():
    result = blending.toy_edit()
    assert result.change_inside > 0.2
    assert result.change_outside > 0.1            # the sky and the grass turn blue too


def _ring(mask: np.ndarray) -> np.ndarray:
    """Pixels outside the mask that share a cell of some coarser level (2, 4, 8 px) with it."""
    touched = np.zeros_like(mask, dtype=bool)
    for f in (2, 4, 8):
        cells = mask.reshape(32 // f, f, 32 // f, f).max(axis=(1, 3)) > 0
        touched |= np.repeat(np.repeat(cells, f, axis=0), f, axis=1)
    return touched & (mask == 0)


def test_blending_every_level_every_step_keeps_far_pixels_exactly():
    # Outside the ring, every cell of every level has m_l = 0, so f^_l = P_l(x_ref) = f_l and the
    # step adds exactly 0 (induction over steps; the cells are nested, see chapter 11).
    mask = region_mask("hat")
    result = blending.toy_edit(blend_levels=(0, 1, 2, 3))
    far = (mask == 0) & ~_ring(mask)
    assert far.sum() > 700
    assert np.all(result.change.per_pixel[far] == 0.0)


def test_blending_reduces_the_outside_change_tenfold():
    # Threshold: without blending the whole sky and grass move (see the test above), while with
    # blending at every level only the ring pixels can move (exactly, test above), and they hold
    # less than a quarter of the outside pixels; in this toy the observed reduction is about 200x,
    # so a factor of 10 is a safe, meaningful bound.
    mask = region_mask("hat")
    assert _ring(mask).sum() / (mask == 0).sum() < 0.25
    plain = blending.toy_edit()
    blended = blending.toy_edit(blend_levels=(0, 1, 2, 3))
    assert blended.change_outside < plain.change_outside / 10
    assert blended.change_inside > 0.1             # the hat is still edited


def test_masking_gives_exactly_zero_change_outside():
    # Premise: at every level the thresholded mask lies inside the hat.
    mask = region_mask("hat")
    for level, size in enumerate((32, 16, 8, 4)):
        hard = blending.resize_mask(mask, size, threshold=0.5)
        assert np.all(blending.upsample(hard, 2 ** level) <= mask)
    result = blending.toy_edit(masking=True)
    assert result.change_outside == 0.0
    assert result.change_inside > 0.1


def test_fewer_blended_steps_leak_more_in_this_toy():
    # Every toy step edits equally hard, so the unblended last steps leak (chapter 11).
    outside = [blending.toy_edit(blend_levels=(0, 1, 2, 3), blend_steps=k).change_outside for k in range(9)]
    assert all(a > b for a, b in zip(outside, outside[1:]))


def test_blend_steps_default_and_schedule_recorded():
    result = blending.toy_edit(T=5, blend_levels=(1,))
    assert result.blended_steps.tolist() == [True] * 5
    none = blending.toy_edit(T=5)
    assert none.blended_steps.tolist() == [False] * 5


@pytest.mark.parametrize("kwargs, name", [
    (dict(T=0), "T"),
    (dict(eta=-0.1), "eta"),
    (dict(eta=1.5), "eta"),
    (dict(eta=float("nan")), "eta"),
    (dict(blend_levels=(4,)), "levels"),
    (dict(blend_levels=(0,), blend_steps=9), "blend_steps"),
    (dict(blend_steps=-1), "blend_steps"),
    (dict(masking="yes"), "masking"),
    (dict(n_levels=7), "n_levels"),
    (dict(region="hair"), "region"),
    (dict(blend_levels="0"), "levels"),
    (dict(image=np.zeros((8, 8))), "image"),
])
def test_toy_edit_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        blending.toy_edit(**kwargs)


# ---------------------------------------------------------------------------
# The four cases (none, blending, masking, both) and Eq. 11.11
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def four():
    return blending.compare_techniques()


def test_compare_techniques_runs_the_four_cases(four):
    assert list(four) == ["none", "blending", "masking", "both"]
    assert four["none"].blend_levels == () and not four["none"].masking
    assert four["blending"].blend_levels == (0, 1, 2, 3) and not four["blending"].masking
    assert four["masking"].blend_levels == () and four["masking"].masking
    assert four["both"].blend_levels == (0, 1, 2, 3) and four["both"].masking


def test_masking_alone_leaves_the_outside_unchanged(four):
    assert four["masking"].change_outside == 0.0
    assert blending.outside_change_split(four["masking"]).changed == 0


def test_without_technique_the_outside_turns_toward_the_hat_colour(four):
    split = blending.outside_change_split(four["none"])
    assert four["none"].change_outside > 0.1
    assert split.away == 0.0 and split.toward > 0.1


def test_blending_outside_change_is_a_pull_back_in_the_ring(four):
    """What blending leaves outside is not edit leaking out: every changed outside pixel moved
    away from the hat colour, and every one shares a coarse cell with the hat."""
    r = four["blending"]
    split = blending.outside_change_split(r)
    assert r.change_outside < four["none"].change_outside / 100
    assert split.toward == 0.0 and split.away > 0
    assert split.changed == split.changed_in_ring == split.ring > 0


def test_both_change_the_outside_more_than_either_alone_and_the_inside_less(four):
    """The chapter's statement: combining the techniques pulls partly-inside coarse cells back
    (masking zeroes their gate, blending restores their reference share) and spreads that
    correction over their outside pixels."""
    both, blend, mask = four["both"], four["blending"], four["masking"]
    assert both.change_outside > blend.change_outside > mask.change_outside == 0.0
    assert both.change_inside < min(blend.change_inside, mask.change_inside)
    split_both, split_blend = (blending.outside_change_split(r) for r in (both, blend))
    assert split_both.toward == 0.0
    assert split_both.away > split_blend.away
    assert split_both.changed == split_both.changed_in_ring


def test_masking_closes_every_partly_inside_cell_of_the_coarsest_level():
    """At 4 x 4 no cell is more than half inside the hat, so masking zeroes the gate of every
    cell there, while blending still gives those cells a soft mask above 0."""
    hat = region_mask("hat")
    soft = blending.resize_mask(hat, 4)
    hard = blending.resize_mask(hat, 4, threshold=0.5)
    assert (soft > 0).sum() == 4 and hard.sum() == 0
    gate = blending.toy_edit_gate(blending.feature_pyramid(toy_image(32), 4)[3], hard, masking=True)
    assert np.all(gate == 0.0)


def test_technique_table_relations(four):
    rows = {row.label: row for row in blending.technique_table(four)}
    assert rows["none"].outside_reduction == 1.0 and rows["none"].inside_kept == 1.0
    assert rows["masking"].outside_reduction == math.inf
    assert rows["blending"].outside_reduction > rows["both"].outside_reduction > 100
    assert rows["both"].inside_kept < rows["blending"].inside_kept < 1
    assert rows["both"].outside_reduction == pytest.approx(
        four["none"].change_outside / four["both"].change_outside)


def test_technique_comparison_matches_the_chapter_figures(four):
    from mgie_lessons.plots.blending import run_variants
    figures = run_variants()
    for label, figure_label in (("none", "neither"), ("blending", "blending"), ("masking", "masking"), ("both", "both")):
        assert figures[figure_label].change_outside == four[label].change_outside
        assert figures[figure_label].change_inside == four[label].change_inside


def test_comparison_errors(four):
    with pytest.raises(ValueError, match="masking"):
        blending.compare_techniques(masking=True)
    with pytest.raises(ValueError, match="blend_levels"):
        blending.compare_techniques(blend_levels=(0,))
    with pytest.raises(ValueError, match="result"):
        blending.outside_change_split("none")
    with pytest.raises(ValueError, match="results"):
        blending.technique_table({"both": four["both"]})
    with pytest.raises(ValueError, match="results"):
        blending.technique_table({"none": four["none"], "x": 1})
