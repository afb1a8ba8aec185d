"""Tests for chapter 12's whole-pipeline function. Expected values are worked out by hand or
re-derived here independently of the package."""

import numpy as np
import pytest

from mgie_lessons import end_to_end, walkthrough


def test_tied_lm_logits_is_F_times_E_transposed_by_hand():
    F = [[1.0, 0.0], [0.0, 2.0]]
    E = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    # row 1: (1,0).(1,2)=1, (1,0).(3,4)=3, (1,0).(5,6)=5; row 2: 2*2=4, 2*4=8, 2*6=12
    assert np.array_equal(end_to_end.tied_lm_logits(F, E), [[1, 3, 5], [4, 8, 12]])


def test_next_token_targets_are_the_successors_ids():
    assert list(end_to_end.next_token_targets(["a", "b", "a", "c"], ["a", "b", "c"])) == [1, 0, 2]


def test_next_token_targets_reject_unknown_and_short_input():
    with pytest.raises(ValueError, match="vocabulary"):
        end_to_end.next_token_targets(["a", "z"], ["a"])
    with pytest.raises(ValueError, match="words"):
        end_to_end.next_token_targets(["a"], ["a"])


def test_conditioned_noise_adds_kappa_times_mean_of_U():
    U = np.array([[0.1, 0.3], [0.5, 0.7]])  # mean 0.4
    assert np.allclose(end_to_end.conditioned_noise(U, 3, 0.2, 0.5), [0.6 + 0.2, 0.4 + 0.2, 0.2 + 0.2])


def test_kappa_zero_gives_back_the_seeds_denoising_and_edit_loss():
    result = end_to_end.run_pipeline(coupling=0.0)
    assert np.allclose(result.predicted_noise, [0.6, 0.4, 0.2])
    assert np.allclose(np.ravel(result.denoise.trajectory), [0.6, 0.54, 0.50, 0.48])
    # (0.2-0.6)^2 + (0.2-0.4)^2 + (0.2-0.2)^2 = 0.16 + 0.04 + 0 = 0.20
    assert result.l_edit == pytest.approx(0.20)
    assert result.l_all == pytest.approx(result.l_ins + 0.5 * 0.20)


def test_instruction_loss_is_the_mean_next_token_negative_log_likelihood():
    result = end_to_end.run_pipeline()
    vocabulary = list(walkthrough.EMBEDDING_TABLE)
    logits = result.lm_logits[:-1]
    targets = [vocabulary.index(w) for w in result.tokens[1:]]
    log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -np.mean([log_probabilities[i, t] for i, t in enumerate(targets)])
    assert result.l_ins == pytest.approx(expected, rel=1e-12)
    # With 9 words and nearly equal logits, the loss is close to log 9.
    assert abs(result.l_ins - np.log(9)) < 0.1


def test_shapes_follow_the_instruction_and_the_edit_head():
    result = end_to_end.run_pipeline(n_img_tokens=3, n_queries=5)
    assert result.X.shape == (10, 2)
    assert result.attention.weights.shape == (13, 13)
    assert result.img_hidden.shape == (3, 2)
    assert result.U.shape == (5, 2)
    assert result.lm_logits.shape == (10, 9)


def test_attention_is_causal_in_the_pipeline():
    weights = end_to_end.run_pipeline().attention.weights
    assert np.all(np.triu(weights, k=1) == 0)


def test_an_embedding_change_flows_to_every_stage():
    base = end_to_end.run_pipeline()
    table = dict(walkthrough.EMBEDDING_TABLE)
    table["hat"] = (1.5, -0.4)
    moved = end_to_end.run_pipeline(table=table)
    assert not np.allclose(base.attention.weights, moved.attention.weights)
    assert not np.allclose(base.U, moved.U)
    assert not np.allclose(base.predicted_noise, moved.predicted_noise)
    assert base.l_ins != pytest.approx(moved.l_ins)
    assert base.l_edit != pytest.approx(moved.l_edit)
    assert base.l_all != pytest.approx(moved.l_all)


def test_with_kappa_zero_the_denoising_ignores_the_embeddings():
    table = dict(walkthrough.EMBEDDING_TABLE)
    table["hat"] = (1.5, -0.4)
    a = end_to_end.run_pipeline(coupling=0.0)
    b = end_to_end.run_pipeline(table=table, coupling=0.0)
    assert np.allclose(a.denoise.trajectory, b.denoise.trajectory)
    assert a.l_edit == pytest.approx(b.l_edit)


@pytest.mark.parametrize("kwargs, name", [
    ({"eta": -0.1}, "eta"),
    ({"T": 0}, "T"),
    ({"alpha": -1.0}, "alpha"),
    ({"instruction": ""}, "instruction"),
    ({"instruction": "Add a red hat"}, "red"),
    ({"z_start": float("nan")}, "z_start"),
    ({"coupling": float("inf")}, "coupling"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        end_to_end.run_pipeline(**kwargs)


def test_minimising_coupling_zeroes_the_derivative_and_beats_its_neighbours():
    U = np.array([[0.2, 0.4]])  # mean 0.3
    # mean over t = 3, 2, 1 of (0.2 - 0.2 t) = 0.2 - 0.4 = -0.2, so kappa* = -0.2 / 0.3
    kappa = end_to_end.edit_loss_minimising_coupling(U, 3, 0.2, 0.2)
    assert kappa == pytest.approx(-2 / 3)

    def loss(k):
        return float(np.sum((0.2 - end_to_end.conditioned_noise(U, 3, 0.2, k)) ** 2))

    assert loss(kappa) < loss(kappa + 0.01) and loss(kappa) < loss(kappa - 0.01)


def test_minimising_coupling_rejects_a_zero_mean_U():
    with pytest.raises(ValueError, match="mean 0"):
        end_to_end.edit_loss_minimising_coupling([[1.0, -1.0]], 3, 0.2, 0.2)


# --- Generation versus teacher forcing (Eq. 12.3) and the scale of MGIE's losses ---

CORPUS = list(walkthrough.TARGET_TOKENS) + list(end_to_end.IMG_TOKENS)


def test_greedy_generation_appends_the_argmax_each_step():
    vocabulary, scores = end_to_end.seed_layer_next_token_scores()
    result = end_to_end.greedy_generate(scores, "Add a blue hat", vocabulary, max_new_tokens=4, stop_token=None)
    assert len(result.generated) == 4 and result.stopped == "max_new_tokens"
    words = list(result.prompt)
    for step, token in enumerate(result.generated):
        row = scores(words)
        np.testing.assert_allclose(result.scores[step], row)
        assert token == vocabulary[int(np.argmax(row))]
        words.append(token)


def test_trigram_toy_generates_the_sentence_up_to_the_img_tokens():
    vocabulary, scores = end_to_end.ngram_next_token_scores(CORPUS, 3)
    result = end_to_end.greedy_generate(scores, ["Add", "a"], vocabulary, max_new_tokens=30)
    assert result.stopped == "[IMG0]"
    assert list(result.prompt + result.generated) == CORPUS


def test_bigram_toy_is_right_under_teacher_forcing_but_loops_when_generating():
    vocabulary, scores = end_to_end.ngram_next_token_scores(CORPUS, 2)
    forced = end_to_end.teacher_forced_predictions(scores, CORPUS, vocabulary)
    wrong = [i for i, (p, t) in enumerate(zip(forced, CORPUS[1:])) if p != t]
    assert len(wrong) == 1 and CORPUS[1:][wrong[0]] == "image"
    result = end_to_end.greedy_generate(scores, ["Add", "a"], vocabulary, max_new_tokens=20)
    assert result.stopped == "max_new_tokens" and "[IMG0]" not in result.generated


def test_generation_bad_input():
    vocabulary, scores = end_to_end.ngram_next_token_scores(CORPUS, 2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        end_to_end.greedy_generate(scores, "Add", vocabulary, max_new_tokens=0)
    with pytest.raises(ValueError, match="stop_token"):
        end_to_end.greedy_generate(scores, "Add", vocabulary, stop_token="[END]")
    with pytest.raises(ValueError, match="prompt"):
        end_to_end.greedy_generate(scores, "", vocabulary)
    _, seed_scores = end_to_end.seed_layer_next_token_scores()
    with pytest.raises(ValueError, match="not in the vocabulary"):
        seed_scores(["Add", "red"])


def test_mgie_loss_normalisation():
    norm = end_to_end.mgie_loss_normalisation()
    assert norm.latent_shape == (4, 32, 32) and norm.latent_entries == 4096
    assert norm.alpha_per_summed_entry == pytest.approx(0.5 / 4096)
    assert end_to_end.mgie_loss_normalisation(512).latent_entries == 4 * 64 * 64
    # mean = sum / entries, checked on a random latent with the package's own loss
    from mgie_lessons import losses
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(norm.latent_entries), rng.standard_normal(norm.latent_entries)
    mean = losses.edit_loss(a, b, reduction="mse")
    assert norm.alpha * mean == pytest.approx(norm.alpha_per_summed_entry * np.sum((a - b) ** 2))
    with pytest.raises(ValueError, match="vae_factor"):
        end_to_end.mgie_loss_normalisation(250)


# ---------------------------------------------------------------------------
# One held-out example through the trained toy MGIE
# ---------------------------------------------------------------------------

from mgie_lessons import toy_edits, toy_mgie  # noqa: E402


@pytest.fixture(scope="module")
def toy():
    model = toy_mgie.load_pretrained()
    example = end_to_end.held_out_example()
    return model, example, toy_mgie.trace_pass(model, example.image, example.instruction)


def test_held_out_example_is_the_test_seeds_and_held_out():
    third = end_to_end.held_out_example(2)
    drawn = toy_edits.make_dataset(3, toy_mgie.TEST_SEED, "heldout")[2]
    assert third.instruction == drawn.instruction and np.array_equal(third.image, drawn.image)
    command = third.command
    assert toy_edits.is_heldout(command.kind, command.colour)
    with pytest.raises(ValueError, match="index"):
        end_to_end.held_out_example(-1)


def test_generated_tokens_are_what_follows_sep_with_one_probability_each(toy):
    model, _, trace = toy
    tokens = end_to_end.generated_tokens(trace)
    assert len(tokens) == toy_mgie.EXPRESSIVE_LENGTH + model.config.n_img == len(trace.token_probabilities)
    assert " ".join(tokens[:toy_mgie.EXPRESSIVE_LENGTH]) == trace.edit.expressive[0]
    assert tokens[-model.config.n_img:] == tuple(f"[IMG{k}]" for k in range(model.config.n_img))


def test_generated_tokens_reject_a_trace_without_sep(toy):
    _, _, trace = toy
    broken = toy_mgie.PassTrace(trace.sequence[:20], trace.patch_tokens, trace.token_probabilities,
                                trace.llm_attention, trace.edit_head_input, trace.edit)
    with pytest.raises(ValueError, match="trace"):
        end_to_end.generated_tokens(broken)


def test_teacher_forced_l_ins_is_the_training_loss(toy):
    model, example, trace = toy
    teacher = end_to_end.teacher_forced_tokens(model, example)
    assert teacher.tokens == tuple(example.expressive.split()) + tuple(
        f"[IMG{k}]" for k in range(model.config.n_img)) + ("<eos>",)
    assert teacher.l_ins == pytest.approx(-np.mean(np.log(teacher.probabilities)))
    # L_ins of toy_mgie.losses does not depend on the random draws
    for seed in (0, 5):
        assert end_to_end.example_losses(model, example, seed)[1] == pytest.approx(teacher.l_ins, rel=1e-10)
    # where generation wrote the target's word, the teacher-forced probability is the generated one
    # as long as every earlier word agreed (same inputs to the causal LLM)
    written = end_to_end.generated_tokens(trace)
    for i, (w, t) in enumerate(zip(written, teacher.tokens)):
        if w != t:
            break
        assert teacher.probabilities[i] == pytest.approx(trace.token_probabilities[i], rel=1e-9)


def test_example_losses_combine_as_l_ins_plus_half_l_edit(toy):
    model, example, _ = toy
    l_all, l_ins, l_edit = end_to_end.example_losses(model, example, 0)
    assert l_all == pytest.approx(l_ins + 0.5 * l_edit)


def test_edit_loss_by_timestep_is_the_training_loss_at_that_draw(toy):
    model, example, _ = toy
    # Replay toy_mgie.losses' draws for a batch of one: dropout r, then u -> t, then the noise.
    for seed in range(8):
        rng = np.random.default_rng(seed)
        r, u = rng.random(1)[0], rng.random(1)[0]
        if r < 3 * model.config.p_drop:
            continue                                  # a dropped condition: not the full-condition loss
        t = min(int(model.config.T * u ** (1.0 / model.config.t_power)), model.config.T - 1)
        noise = rng.standard_normal((1, 16, 16, 3))
        expected = end_to_end.example_losses(model, example, seed)[2]
        assert toy_mgie.edit_losses_at(model, example, np.array([t]), noise)[0] == pytest.approx(expected, rel=1e-9)
        break
    else:
        pytest.fail("no seed without dropout in 0..7")


def test_edit_loss_by_timestep_shapes_same_noise_and_bad_input(toy):
    model, example, _ = toy
    table = end_to_end.edit_loss_by_timestep(model, example, [10, 990], draws=3)
    assert table.shape == (2, 3) and np.all(table >= 0)
    assert np.array_equal(table[0], end_to_end.edit_loss_by_timestep(model, example, [10], draws=3)[0])
    for bad in ([], [1000], [-1], [0.5]):
        with pytest.raises(ValueError, match="timesteps"):
            end_to_end.edit_loss_by_timestep(model, example, bad)
    with pytest.raises(ValueError, match="draws"):
        end_to_end.edit_loss_by_timestep(model, example, [10], draws=0)


def test_mean_attention_map_is_causal_and_row_stochastic(toy):
    _, _, trace = toy
    A = end_to_end.mean_attention_map(trace, 0)
    n = len(trace.sequence)
    assert A.shape == (n, n)
    assert np.allclose(A.sum(axis=1), 1.0)
    assert np.all(np.triu(A, 1) == 0.0)
    assert np.allclose(A, trace.llm_attention[0].mean(axis=0))
    with pytest.raises(ValueError, match="layer"):
        end_to_end.mean_attention_map(trace, trace.llm_attention.shape[0])
