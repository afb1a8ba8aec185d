"""Chapter 12: one held-out example through the trained toy MGIE, and the seed's caricature.

The chapter's centre is :func:`mgie_lessons.toy_mgie.trace_pass` on one held-out example
(:func:`held_out_example`): every stage of the trained model of chapter 14, kept. This module adds
what the chapter measures on that pass and toy_mgie does not return: the tokens the LLM generated
(:func:`generated_tokens`), the teacher-forced probability of every target token, whose mean
negative log is L_ins (:func:`teacher_forced_tokens`, Eq. 12.2), and L_edit at chosen timesteps
with one fixed noise (:func:`edit_loss_by_timestep`), both checked against
:func:`mgie_lessons.toy_mgie.losses` in the tests.

The rest of the module is the seed's caricature, which the chapter keeps as a short section.
The seed's chapters are disconnected: its visual tokens are given, and its denoising ignores
them. To let a change upstream (an embedding, a weight) flow all the way to the losses, this
module chains the package's chapter functions and closes the two gaps with the simplest honest
stand-ins, each named as such:

1. X = E[w_1..w_n]                                    tokens.embed          (Eq. 1.1)
2. one causal layer over [X; E_img]: attention + FFN  visual_tokens.image_token_pass (Eqs. 2.1-3.1, 4.1-4.2)
3. U = toy edit head of the [IMG] hidden states        visual_tokens.toy_edit_head (Eqs. 4.3-4.5)
4. eps_hat_t = s t + kappa * mean(U)                  stand-in for the denoiser's cross-attention to U (Eq. 12.1)
5. z_{t-1} = z_t - eta * eps_hat_t                     diffusion.denoise     (chapter 5)
6. L_ins: next-token cross-entropy of a tied LM head  logits_i = F_i E^T     (Eq. 12.2)
7. L_edit = sum_t (eps_t - eps_hat_t)^2,  L_all = L_ins + alpha L_edit       losses (chapter 6)

Step 4 is the book's toy coupling (kappa = 0 gives back the seed's eps_hat_t = 0.2 t); in MGIE
the UNet reads U through cross-attention (chapter 10). Step 6 uses the transposed embedding
table as the output layer ("weight tying"), so the next-token probabilities depend on the
embeddings and on every weight before it.

Two different things make that loss trainable in one pass. The causal mask (Eq. 2.6) is part of
the model: position i can only read tokens 1..i, so its output is a fair prediction of token
i+1. Teacher forcing is a way of training: the input at every position is the *true* previous
token, not the one the model would have generated, so all n-1 predictions are computed at once
from the target sentence. At inference there is no target: the model generates, appending its
own choice and running again (:func:`greedy_generate`, the argmax at every step, Eq. 12.3).

Scale of the losses (chapter 6; MGIE's mgie_llava.py L285-290 and L324-326): L_ins is a mean over
target tokens and L_edit = ``mse_loss(..., reduction='mean')`` a mean over every latent entry
(4 x 32 x 32 at 256 px). :func:`mgie_loss_normalisation` gives those counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import attention, diffusion, ffn, losses, walkthrough, tokens, toy_edits, toy_mgie, visual_tokens
from .attention import AttentionResult
from .ffn import FFNResult
from .validation import as_matrix, as_vector, check_finite_number, check_int, check_nonnegative

__all__ = ["PipelineResult", "tied_lm_logits", "next_token_targets", "conditioned_noise",
           "edit_loss_minimising_coupling", "run_pipeline",
           "IMG_TOKENS", "GenerationResult", "greedy_generate", "seed_layer_next_token_scores",
           "ngram_next_token_scores", "teacher_forced_predictions",
           "LossNormalisation", "mgie_loss_normalisation",
           "EXAMPLE_INDEX", "held_out_example", "generated_tokens", "TeacherForcedTokens",
           "teacher_forced_tokens", "example_losses", "edit_loss_by_timestep", "mean_attention_map"]


@dataclass(frozen=True)
class PipelineResult:
    """Every stage of :func:`run_pipeline`, by name."""

    tokens: tuple
    X: np.ndarray
    attention: AttentionResult
    ffn: FFNResult
    img_hidden: np.ndarray
    U: np.ndarray
    predicted_noise: np.ndarray
    true_noise: np.ndarray
    denoise: diffusion.DenoiseResult
    lm_logits: np.ndarray
    l_ins: float
    l_edit: float
    l_all: float


def tied_lm_logits(F, table_matrix) -> np.ndarray:
    """Next-token logits of a weight-tied output layer: logits = F E^T (Eq. 12.2).

    F is (n x d), one output row per position; ``table_matrix`` E is (|V| x d), one row per
    vocabulary word. Entry (i, j) scores word j as the token after position i.
    """
    F = as_matrix(F, "F")
    E = as_matrix(table_matrix, "table_matrix", cols=F.shape[1])
    return F @ E.T


def next_token_targets(words, vocabulary) -> np.ndarray:
    """The id of each token's successor: targets[i] = id(w_{i+2}) for i = 0..n-2 (chapter 12)."""
    words, vocabulary = list(words), list(vocabulary)
    if len(words) < 2:
        raise ValueError("words must contain at least two tokens to predict a next token")
    index = {word: i for i, word in enumerate(vocabulary)}
    missing = [w for w in words if w not in index]
    if missing:
        raise ValueError(f"words {missing} are not in vocabulary")
    return np.array([index[w] for w in words[1:]])


def conditioned_noise(U, T: int, slope: float, coupling: float) -> np.ndarray:
    """eps_hat_t = slope * t + coupling * mean(U), for t = T, T-1, ..., 1 (Eq. 12.1)."""
    U = as_matrix(U, "U")
    T = check_int(T, "T", minimum=1)
    slope = check_finite_number(slope, "slope")
    coupling = check_finite_number(coupling, "coupling")
    steps = np.arange(T, 0, -1)
    return slope * steps + coupling * float(U.mean())


def edit_loss_minimising_coupling(U, T: int, slope: float, true_noise: float) -> float:
    """The kappa that minimises L_edit = sum_t (eps - slope t - kappa u)^2, u = mean(U) (chapter 12).

    Setting the derivative to zero gives kappa* u = mean_t (eps - slope t), so
    kappa* = (eps - slope (T + 1) / 2) / u. Raises ``ValueError`` when mean(U) = 0 (then kappa has
    no effect on the loss).
    """
    U = as_matrix(U, "U")
    T = check_int(T, "T", minimum=1)
    slope = check_finite_number(slope, "slope")
    true_noise = check_finite_number(true_noise, "true_noise")
    u = float(U.mean())
    if u == 0.0:
        raise ValueError("U has mean 0, so kappa does not change the predicted noise")
    return (true_noise - slope * (T + 1) / 2) / u


def run_pipeline(instruction: str = walkthrough.INSTRUCTION, *, table=None,
                 W_q=walkthrough.W_Q, W_k=walkthrough.W_K, W_v=walkthrough.W_V,
                 W1=walkthrough.W1, b1=walkthrough.B1, W2=walkthrough.W2, b2=walkthrough.B2,
                 n_img_tokens: int = 4, n_queries: int = 4, seed: int = 0,
                 z_start: float = walkthrough.PRINTED_Z_START, eta: float = walkthrough.ETA, T: int = walkthrough.T,
                 slope: float = walkthrough.NOISE_SLOPE, coupling: float = 0.5,
                 true_noise: float = walkthrough.TRUE_NOISE[1], alpha: float = walkthrough.ALPHA) -> PipelineResult:
    """Run the whole toy pipeline (steps 1-7 of the module docstring) and return every stage.

    Defaults are the seed's values; ``coupling`` kappa = 0 reproduces the seed's noise rule.
    ``true_noise`` is the noise eps_t the seed's L_edit compares against at every step (0.2).
    Every parameter is validated by the chapter function that uses it.
    """
    table = dict(walkthrough.EMBEDDING_TABLE if table is None else table)
    words, X = tokens.embed(instruction, table)
    n_img_tokens = check_int(n_img_tokens, "n_img_tokens", minimum=1, maximum=16)
    image_pass = visual_tokens.image_token_pass(
        X, visual_tokens.image_token_embeddings(n_img_tokens), W_q, W_k, W_v, W1, b1, W2, b2,
        words=words, causal=True)
    head = visual_tokens.toy_edit_head(image_pass.edit_head_input, n_queries=n_queries,
                                       d_out=X.shape[1], seed=seed)
    T = check_int(T, "T", minimum=1)
    predicted = conditioned_noise(head.output, T, slope, coupling)
    true = np.full(T, check_finite_number(true_noise, "true_noise"))
    trajectory = diffusion.denoise(check_finite_number(z_start, "z_start"),
                                   check_nonnegative(eta, "eta"), T, predicted)
    vocabulary = list(table)
    table_matrix = np.vstack([as_vector(table[w], f"table[{w!r}]") for w in vocabulary])
    n = len(words)
    logits = tied_lm_logits(image_pass.ffn.output[:n], table_matrix)
    l_ins = float(losses.cross_entropy(logits[:-1], next_token_targets(words, vocabulary))) if n > 1 else 0.0
    l_edit = float(losses.edit_loss(true, predicted))
    l_all = float(losses.total_loss(l_ins, l_edit, alpha))
    return PipelineResult(tuple(words), X, image_pass.attention, image_pass.ffn, image_pass.hidden_states,
                          head.output, predicted, true, trajectory, logits, l_ins, l_edit, l_all)


# ---------------------------------------------------------------------------
# Generation versus teacher forcing (Eq. 12.3)
# ---------------------------------------------------------------------------

#: MGIE's eight visual tokens, added to the vocabulary (mgie_train.py L790).
IMG_TOKENS = tuple(f"[IMG{i}]" for i in range(8))


@dataclass(frozen=True)
class GenerationResult:
    """What :func:`greedy_generate` did: ``prompt`` and ``generated`` tokens, the ``scores``
    row of every step (one entry per vocabulary word), and ``stopped`` ("[IMG0]" when the model
    produced it, "max_new_tokens" when the budget ran out)."""

    prompt: tuple
    generated: tuple
    scores: np.ndarray
    stopped: str


def _checked_words(words, name: str) -> list[str]:
    if isinstance(words, str):
        words = words.split()
    words = list(words)
    if not words or not all(isinstance(w, str) for w in words):
        raise ValueError(f"{name} must be a non-empty list of words")
    return words


def greedy_generate(next_token_scores, prompt, vocabulary, *, max_new_tokens: int = 12,
                    stop_token: str = IMG_TOKENS[0], append_after_stop=IMG_TOKENS[1:]) -> GenerationResult:
    """Greedy decoding: w_{k+1} = argmax_v score(v | w_1..w_k), appended, repeated (Eq. 12.3).

    ``next_token_scores(words)`` returns one score (a logit) per word of ``vocabulary`` for the
    token after ``words``. Generation stops when ``stop_token`` ([IMG0]) is produced, and then
    the tokens ``append_after_stop`` ([IMG1]..[IMG7], after [IMG0]) are appended, because MGIE's targets always
    end with all eight in order (mgie_train.py L531); or after ``max_new_tokens`` steps. Ties go
    to the earlier word of ``vocabulary``. MGIE's demo generates this way: ``do_sample=False,
    num_beams=1`` (demo.ipynb).
    """
    words = _checked_words(prompt, "prompt")
    vocabulary = _checked_words(vocabulary, "vocabulary")
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", minimum=1)
    if stop_token is not None and stop_token not in vocabulary:
        raise ValueError(f"stop_token {stop_token!r} is not in vocabulary (pass stop_token=None for none)")
    generated, rows, stopped = [], [], "max_new_tokens"
    for _ in range(max_new_tokens):
        scores = as_vector(next_token_scores(words + generated), "next_token_scores(...)",
                           length=len(vocabulary))
        rows.append(scores)
        choice = vocabulary[int(np.argmax(scores))]
        generated.append(choice)
        if stop_token is not None and choice == stop_token:
            generated.extend(append_after_stop)
            stopped = stop_token
            break
    return GenerationResult(tuple(words), tuple(generated), np.vstack(rows), stopped)


def _vocabulary_and_table(table, n_img_tokens: int):
    table = dict(walkthrough.EMBEDDING_TABLE if table is None else table)
    vocabulary, E = tokens.table_matrix(table)
    n_img_tokens = check_int(n_img_tokens, "n_img_tokens", minimum=0, maximum=8)
    if n_img_tokens:
        vocabulary = vocabulary + list(IMG_TOKENS[:n_img_tokens])
        E = np.vstack([E, visual_tokens.image_token_embeddings(n_img_tokens)])
    return vocabulary, E


def seed_layer_next_token_scores(table=None, *, n_img_tokens: int = 0, W_q=walkthrough.W_Q, W_k=walkthrough.W_K,
                                 W_v=walkthrough.W_V, W1=walkthrough.W1, b1=walkthrough.B1, W2=walkthrough.W2, b2=walkthrough.B2):
    """(vocabulary, scores_fn) for the book's one-layer toy: causal attention, FFN, tied head (Eq. 12.2).

    ``scores_fn(words)`` embeds the words (chapter 1), runs one causal attention layer and the
    FFN (chapters 2-3) and returns the logits F_last E^T of the last position. With
    ``n_img_tokens`` > 0 the toy [IMG] embeddings of chapter 4 join the vocabulary.
    """
    vocabulary, E = _vocabulary_and_table(table, n_img_tokens)
    rows = {word: E[j] for j, word in enumerate(vocabulary)}

    def scores(words):
        words = _checked_words(words, "words")
        unknown = [w for w in words if w not in rows]
        if unknown:
            raise ValueError(f"words {unknown} are not in the vocabulary")
        X = np.vstack([rows[w] for w in words])
        H = attention.self_attention(X, W_q, W_k, W_v, causal=True).output
        F = ffn.feed_forward(H, W1, b1, W2, b2).output
        return tied_lm_logits(F[-1:], E)[0]

    return vocabulary, scores


def ngram_next_token_scores(corpus, n: int = 3):
    """(vocabulary, scores_fn) for a count model fitted to one sentence (chapter 12's generation toy).

    ``scores_fn(words)`` returns, for every vocabulary word v, how often v followed the last
    n-1 words of ``words`` in ``corpus``; when that context never occurred it backs off to the
    last n-2 words, and so on. It is the simplest language model that has *learned* a sentence,
    so greedy decoding from a prefix can reproduce it.
    """
    corpus = _checked_words(corpus, "corpus")
    n = check_int(n, "n", minimum=2)
    vocabulary = list(dict.fromkeys(corpus))
    index = {w: j for j, w in enumerate(vocabulary)}

    def scores(words):
        words = _checked_words(words, "words")
        for size in range(min(n - 1, len(words)), 0, -1):
            context = words[-size:]
            counts = np.zeros(len(vocabulary))
            for start in range(len(corpus) - size):
                if corpus[start:start + size] == context:
                    counts[index[corpus[start + size]]] += 1
            if counts.any():
                return counts
        return np.zeros(len(vocabulary))

    return vocabulary, scores


def teacher_forced_predictions(next_token_scores, sentence, vocabulary) -> tuple:
    """The argmax prediction at every position when the input is the true sentence (teacher forcing).

    Entry i is the model's choice for token i+2 given the *true* tokens 1..i+1 (chapter 12).
    Compare with :func:`greedy_generate`, where the inputs are the model's own earlier choices.
    """
    sentence = _checked_words(sentence, "sentence")
    vocabulary = _checked_words(vocabulary, "vocabulary")
    if len(sentence) < 2:
        raise ValueError("sentence must have at least two tokens")
    out = []
    for i in range(1, len(sentence)):
        scores = as_vector(next_token_scores(sentence[:i]), "next_token_scores(...)", length=len(vocabulary))
        out.append(vocabulary[int(np.argmax(scores))])
    return tuple(out)


# ---------------------------------------------------------------------------
# The scale of MGIE's losses (chapters 6 and 12)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LossNormalisation:
    """How MGIE's two losses are normalised (mgie_llava.py L285-290, L324-326).

    ``latent_shape`` (channels, side, side) of the VAE latent; ``latent_entries`` their number,
    the divisor of ``mse_loss(..., reduction='mean')`` per image; ``alpha`` the weight of L_edit;
    ``alpha_per_summed_entry`` = alpha / latent_entries, the weight the same loss would need if
    L_edit were a sum over the latent's entries instead of a mean.
    """

    image_side: int
    latent_shape: tuple
    latent_entries: int
    alpha: float
    alpha_per_summed_entry: float


def mgie_loss_normalisation(image_side: int = 256, latent_channels: int = 4, vae_factor: int = 8,
                            alpha: float = walkthrough.ALPHA) -> LossNormalisation:
    """The latent MGIE's L_edit averages over: (4, side/8, side/8); 4 x 32 x 32 = 4096 at 256 px.

    MGIE trains on 256 x 256 images (mgie_train.py L540); Stable Diffusion's VAE has 4 latent
    channels and shrinks each side 8-fold (Rombach et al. 2022). Since the mean is the sum
    divided by the number of entries, alpha * mean = (alpha / entries) * sum.
    """
    image_side = check_int(image_side, "image_side", minimum=1)
    latent_channels = check_int(latent_channels, "latent_channels", minimum=1)
    vae_factor = check_int(vae_factor, "vae_factor", minimum=1)
    if image_side % vae_factor:
        raise ValueError(f"vae_factor must divide image_side: {image_side} / {vae_factor} is not whole")
    alpha = check_nonnegative(alpha, "alpha")
    side = image_side // vae_factor
    entries = latent_channels * side * side
    return LossNormalisation(image_side, (latent_channels, side, side), entries, alpha, alpha / entries)


# ---------------------------------------------------------------------------
# One held-out example through the trained toy MGIE (chapter 12's centre)
# ---------------------------------------------------------------------------

#: The chapter's example: the first of the held-out examples drawn with ``toy_mgie.TEST_SEED``
#: (never looked at while choosing the model's settings), whatever the model does with it.
EXAMPLE_INDEX = 0


def held_out_example(index: int = EXAMPLE_INDEX):
    """Example ``index`` of ``toy_edits.make_dataset(index + 1, toy_mgie.TEST_SEED, "heldout")``.

    Its (shape, new colour) combination never occurs in training (chapter 14's held-out rule).
    """
    index = check_int(index, "index", minimum=0)
    return toy_edits.make_dataset(index + 1, toy_mgie.TEST_SEED, "heldout")[index]


def generated_tokens(trace) -> tuple:
    """The tokens after <sep> in a :class:`toy_mgie.PassTrace`: the expressive words the LLM
    wrote (greedy decoding, Eq. 12.3), then [IMG0] ... [IMG_{K-1}]; one per entry of
    ``trace.token_probabilities``."""
    sequence = tuple(trace.sequence)
    if "<sep>" not in sequence:
        raise ValueError("trace must be a toy_mgie.PassTrace (its sequence has no <sep>)")
    tokens = sequence[sequence.index("<sep>") + 1:]
    if len(tokens) != len(trace.token_probabilities):
        raise ValueError("trace has one probability per generated token; this one does not")
    return tokens


@dataclass(frozen=True)
class TeacherForcedTokens:
    """The target tokens of L_ins (expressive words, the K [IMG] tokens, <eos>), the probability
    the model gives each when the true previous tokens are its input (teacher forcing), and
    ``l_ins`` = -mean(log probabilities) (Eq. 12.2)."""

    tokens: tuple
    probabilities: np.ndarray
    l_ins: float


def teacher_forced_tokens(model, example) -> TeacherForcedTokens:
    """p(w_{i+1} | image, instruction, w_1..w_i) for every target token of ``example`` (chapter 12).

    The LLM reads [16 patch tokens] [instruction] <sep> [true expressive words] [IMG] tokens in
    one causal pass; the state at <sep> predicts the first word, each later state the next
    token, the last [IMG] state <eos>. L_ins = -(1/N) sum_i log p_i over these N targets (Eq. 12.2),
    the L_ins of :func:`toy_mgie.losses` (the tests check they agree).
    """
    tokens, probabilities = toy_mgie.teacher_forced_probabilities(model, example)
    return TeacherForcedTokens(tokens, probabilities, float(-np.mean(np.log(probabilities))))


def example_losses(model, example, seed: int = 0) -> tuple[float, float, float]:
    """(L_all, L_ins, L_edit) of :func:`toy_mgie.losses` on ``example`` alone, with the random
    draws (condition dropout, one timestep t, the noise) from ``np.random.default_rng(seed)``."""
    seed = check_int(seed, "seed", minimum=0)
    total, l_ins, l_edit = toy_mgie.losses(model.params, model.config, [example], np.random.default_rng(seed))
    return float(total.data), float(l_ins.data), float(l_edit.data)


def edit_loss_by_timestep(model, example, timesteps, draws: int = 8, seed: int = 0) -> np.ndarray:
    """L_edit of ``example`` at each timestep in ``timesteps``: (len(timesteps), draws), one column
    per noise draw, the same draws at every t (chapter 12).

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (Eq. 8.3) with eps drawn from
    ``np.random.default_rng([seed, 12])``, the full condition (V and U, no dropout), and
    L_edit = mean ||x_0 - x^_0||^2 over the 16 x 16 x 3 entries (x_0 prediction; the noise for a
    model trained to predict it): :func:`toy_mgie.losses` at that t and eps (the tests check it).
    Training averages over t and eps; one draw at large t can be far from that average.
    """
    config = model.config
    steps = np.atleast_1d(np.asarray(timesteps))
    if steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.integer):
        raise ValueError(f"timesteps must be a non-empty list of integers, got {timesteps!r}")
    if steps.min() < 0 or steps.max() >= config.T:
        raise ValueError(f"timesteps must lie in 0..{config.T - 1}, got {steps.tolist()}")
    draws = check_int(draws, "draws", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    noise = np.random.default_rng([seed, 12]).standard_normal((draws, 16, 16, 3))
    return np.vstack([toy_mgie.edit_losses_at(model, example, np.full(draws, int(t)), noise) for t in steps])




def mean_attention_map(trace, layer: int) -> np.ndarray:
    """The LLM's causal attention in ``layer`` averaged over its heads, (n x n) (Eq. 2.4).

    Each row sums to 1 and is zero right of the diagonal (the causal mask, Eq. 2.6).
    """
    maps = np.asarray(trace.llm_attention)
    layer = check_int(layer, "layer", minimum=0, maximum=maps.shape[0] - 1)
    return maps[layer].mean(axis=0)
