"""Small PyTorch models that the lessons train (lessons 8 and 9).

Dimension letters: N samples, T time steps, D input features, H hidden
units, K classes or outputs, V vocabulary size, E embedding size, S
source steps of a seq2seq model.

All models use ``batch_first=True`` tensors, are built from ``torch.nn``
modules only, and take a ``cell`` argument, one of ``"rnn"``, ``"lstm"``
or ``"gru"``, to pick ``torch.nn.RNN``, ``torch.nn.LSTM`` or
``torch.nn.GRU``. A ``seed`` argument makes the initial weights
reproducible without touching torch's global random state.

* :class:`CharLM`: embedding, recurrent layers and a linear head over the
  characters, with :meth:`CharLM.sample` (temperature sampling).
* :class:`SequenceClassifier`: many-to-one classification from the last
  hidden state.
* :class:`Forecaster`: many-to-one regression for time series.
* :class:`Seq2Seq`: an encoder-decoder (Sutskever et al., 2014; Cho et
  al., 2014) whose decoder reads a context vector at every step: the
  encoder's last state (no attention, the bottleneck) or an attention
  read-out of all encoder states, additive (Bahdanau et al., 2015,
  :class:`AdditiveAttention`) or dot-product (Luong et al., 2015,
  :class:`DotAttention`).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from helpers.support.torch_runs import seeded

__all__ = [
    "make_rnn", "CharLM", "SequenceClassifier", "Forecaster",
    "DotAttention", "AdditiveAttention", "Seq2Seq",
]

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_STEP_CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


def _check_cell(cell: str) -> str:
    if cell not in _CELLS:
        raise ValueError(
            f"cell is {cell!r}; expected one of {sorted(_CELLS)}")
    return cell


def make_rnn(cell: str, input_size: int, hidden_size: int,
             num_layers: int = 1, dropout: float = 0.0,
             bidirectional: bool = False) -> nn.Module:
    """A ``batch_first`` ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``.

    ``dropout`` acts between stacked layers only (never on the recurrent
    connections, lesson 6), so it is ignored for one layer.
    """
    _check_cell(cell)
    return _CELLS[cell](input_size, hidden_size, num_layers=num_layers,
                        batch_first=True,
                        dropout=dropout if num_layers > 1 else 0.0,
                        bidirectional=bidirectional)


def _last_hidden(state, num_directions: int) -> torch.Tensor:
    """Final hidden state of the top layer, ``(N, num_directions * H)``.

    ``state`` is ``h_n`` of shape ``(layers * directions, N, H)`` or, for
    an LSTM, the pair ``(h_n, c_n)``.
    """
    h_n = state[0] if isinstance(state, tuple) else state
    top = h_n[-num_directions:]                       # (dirs, N, H)
    return torch.cat(list(top), dim=-1)               # (N, dirs * H)


# ------------------------------------------------ character language model

class CharLM(nn.Module):
    """Character-level language model: embedding -> RNN -> linear.

    At every step the model reads character ``x_t`` and outputs scores
    for the next character ``x_{t+1}``::

        e_t = W_e[x_t],  h_t = RNN(e_t, h_{t-1}),  y_t = W_hy h_t + b_y

    Parameters
    ----------
    vocab_size : int
        ``V``, number of distinct characters.
    embed_dim : int
        ``E``, size of the learned character embeddings.
    hidden_size : int
        ``H``.
    cell : {"rnn", "lstm", "gru"}
    num_layers : int
        Stacked recurrent layers.
    dropout : float
        Dropout between stacked layers.
    chars : sequence of str, optional
        The characters in id order (e.g. ``CharVocab.chars``); needed by
        :meth:`sample` to turn text into ids and back.
    seed : int, optional
        Seed for the initial weights.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 32,
                 hidden_size: int = 128, cell: str = "lstm",
                 num_layers: int = 1, dropout: float = 0.0,
                 chars: Sequence[str] | None = None,
                 seed: int | None = None) -> None:
        super().__init__()
        if chars is not None and len(chars) != vocab_size:
            raise ValueError(
                f"chars has {len(chars)} characters but vocab_size is "
                f"{vocab_size}")
        self.cell = _check_cell(cell)
        self.chars = None if chars is None else tuple(chars)
        with seeded(seed):
            self.embed = nn.Embedding(vocab_size, embed_dim)
            self.rnn = make_rnn(cell, embed_dim, hidden_size, num_layers,
                                dropout)
            self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: torch.Tensor, state=None):
        """Scores of the next character at every step.

        Parameters
        ----------
        x : LongTensor, shape (N, T)
            Character ids.
        state : optional
            Initial recurrent state (as returned by a previous call), e.g.
            to carry it over between chunks of truncated BPTT.

        Returns
        -------
        logits : Tensor, shape (N, T, V)
        state : Tensor ``(layers, N, H)`` or, for an LSTM, a pair of them
        """
        if x.dim() != 2:
            raise ValueError(
                f"x has shape {tuple(x.shape)}; expected (N, T) ids")
        e = self.embed(x)                             # (N, T, E)
        h, state = self.rnn(e, state)                 # (N, T, H)
        return self.head(h), state                    # (N, T, V)

    @torch.no_grad()
    def sample_ids(self, seed_ids: Sequence[int], n: int,
                   temperature: float = 1.0,
                   generator: torch.Generator | None = None
                   ) -> list[int]:
        """Sample ``n`` new ids after reading ``seed_ids``.

        Each next id is drawn from ``softmax(y_t / temperature)``. A low
        temperature sharpens the distribution towards the most likely
        character (repetitive text); a high one flattens it (random
        text).
        """
        if len(seed_ids) < 1:
            raise ValueError("the seed must hold at least one character")
        if not temperature > 0:
            raise ValueError(
                f"temperature must be > 0, got {temperature!r}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n!r}")
        was_training = self.training
        self.eval()
        try:
            x = torch.as_tensor(list(seed_ids),
                                dtype=torch.long)[None]   # (1, T_seed)
            logits, state = self(x)
            out = []
            for _ in range(n):
                p = torch.softmax(logits[0, -1] / temperature, dim=-1)
                nxt = int(torch.multinomial(p, 1, generator=generator))
                out.append(nxt)
                logits, state = self(
                    torch.tensor([[nxt]], dtype=torch.long), state)
        finally:
            self.train(was_training)
        return out

    def sample(self, seed_text: str, n: int, temperature: float = 1.0,
               seed: int = 0) -> str:
        """Generate text: ``seed_text`` followed by ``n`` sampled
        characters.

        Parameters
        ----------
        seed_text : str
            Text that primes the hidden state; every character must be in
            ``chars``.
        n : int
            Number of characters to generate.
        temperature : float
            > 0; 1 samples from the model's distribution.
        seed : int
            Seed of the sampling; the same seed gives the same text.
        """
        if self.chars is None:
            raise ValueError(
                "this model was built without chars; pass "
                "chars=vocab.chars to CharLM to sample text")
        stoi = {c: i for i, c in enumerate(self.chars)}
        missing = sorted(set(seed_text) - set(stoi))
        if missing:
            raise ValueError(
                f"seed_text contains characters not in the vocabulary: "
                f"{missing}")
        gen = torch.Generator().manual_seed(seed)
        ids = self.sample_ids([stoi[c] for c in seed_text], n,
                              temperature, gen)
        return seed_text + "".join(self.chars[i] for i in ids)


# ---------------------------------------------------- many-to-one models

class SequenceClassifier(nn.Module):
    """Many-to-one classifier: RNN over the sequence, linear head on the
    last hidden state ``h_T``.

    Parameters
    ----------
    input_size : int
        ``D``.
    hidden_size : int
        ``H``.
    num_classes : int
        ``K``.
    cell : {"rnn", "lstm", "gru"}
    num_layers : int
    bidirectional : bool
        Read the sequence both ways and concatenate the two final states
        (the backward direction ends at ``t = 1``).
    dropout : float
        Dropout between stacked layers.
    seed : int, optional
        Seed for the initial weights.
    """

    def __init__(self, input_size: int, hidden_size: int,
                 num_classes: int, cell: str = "gru", num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0,
                 seed: int | None = None) -> None:
        super().__init__()
        self.cell = _check_cell(cell)
        self.num_directions = 2 if bidirectional else 1
        with seeded(seed):
            self.rnn = make_rnn(cell, input_size, hidden_size, num_layers,
                                dropout, bidirectional)
            self.head = nn.Linear(self.num_directions * hidden_size,
                                  num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, T, D)`` -> class scores ``(N, K)``."""
        if x.dim() != 3:
            raise ValueError(
                f"x has shape {tuple(x.shape)}; expected (N, T, D)")
        _, state = self.rnn(x)
        h_T = _last_hidden(state, self.num_directions)   # (N, dirs * H)
        return self.head(h_T)                         # (N, K)


class Forecaster(nn.Module):
    """Time-series forecaster: RNN over a window, linear head on ``h_T``.

    Parameters
    ----------
    input_size : int
        ``D``, features per step (1 for a univariate series).
    hidden_size : int
        ``H``.
    output_size : int
        ``K``, values predicted (e.g. the next ``D`` values).
    cell : {"rnn", "lstm", "gru"}
    num_layers : int
    seed : int, optional
        Seed for the initial weights.
    """

    def __init__(self, input_size: int = 1, hidden_size: int = 32,
                 output_size: int = 1, cell: str = "gru",
                 num_layers: int = 1, seed: int | None = None) -> None:
        super().__init__()
        self.cell = _check_cell(cell)
        with seeded(seed):
            self.rnn = make_rnn(cell, input_size, hidden_size, num_layers)
            self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, T, D)`` -> forecast ``(N, K)``."""
        if x.dim() != 3:
            raise ValueError(
                f"x has shape {tuple(x.shape)}; expected (N, T, D)")
        _, state = self.rnn(x)
        return self.head(_last_hidden(state, 1))      # (N, K)


# ------------------------------------------------------------- attention

def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None
                    ) -> torch.Tensor:
    """Softmax over the last axis; zero weight where ``mask`` is False
    (True = keep); an all-masked row gets all zeros."""
    if mask is None:
        return torch.softmax(scores, dim=-1)
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)


class DotAttention(nn.Module):
    """Dot-product attention for one query per sample.

    ``alpha = softmax(k_j . q / sqrt(d))``, ``context = sum_j alpha_j
    v_j``; ``scaled=False`` drops the ``sqrt(d)`` (Luong's "dot" score).
    Queries and keys must have the same size ``d``. No parameters.
    """

    def __init__(self, scaled: bool = True) -> None:
        super().__init__()
        self.scaled = scaled

    def forward(self, query: torch.Tensor, keys: torch.Tensor,
                values: torch.Tensor, mask: torch.Tensor | None = None):
        """
        Parameters
        ----------
        query : Tensor, shape (N, d)
        keys : Tensor, shape (N, S, d)
        values : Tensor, shape (N, S, d_v)
        mask : BoolTensor, shape (N, S), optional
            True = keep.

        Returns
        -------
        context : Tensor, shape (N, d_v)
        alpha : Tensor, shape (N, S)
        """
        scores = (keys @ query[:, :, None])[:, :, 0]  # (N, S)
        if self.scaled:
            scores = scores / math.sqrt(query.shape[-1])
        alpha = _masked_softmax(scores, mask)         # (N, S)
        context = (alpha[:, None, :] @ values)[:, 0]  # (N, d_v)
        return context, alpha


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention for one query per sample.

    ``e_j = v^T tanh(W_q q + W_k k_j)``, ``alpha = softmax(e)``,
    ``context = sum_j alpha_j v_j``. The weights match the numpy version
    :func:`helpers.reference.attention.additive_attention_forward`:
    ``W_q.weight (A, d_q)``, ``W_k.weight (A, d_k)``, ``v.weight (1, A)``.

    Parameters
    ----------
    query_size : int
        ``d_q``.
    key_size : int
        ``d_k``.
    attn_size : int
        ``A``, width of the scoring layer.
    """

    def __init__(self, query_size: int, key_size: int,
                 attn_size: int) -> None:
        super().__init__()
        self.W_q = nn.Linear(query_size, attn_size, bias=False)
        self.W_k = nn.Linear(key_size, attn_size, bias=False)
        self.v = nn.Linear(attn_size, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor,
                values: torch.Tensor, mask: torch.Tensor | None = None):
        """Same shapes as :meth:`DotAttention.forward` (``d_q`` and
        ``d_k`` may differ)."""
        pre = self.W_q(query)[:, None, :] + self.W_k(keys)   # (N, S, A)
        scores = self.v(torch.tanh(pre))[:, :, 0]     # (N, S)
        alpha = _masked_softmax(scores, mask)         # (N, S)
        context = (alpha[:, None, :] @ values)[:, 0]  # (N, d_v)
        return context, alpha


# --------------------------------------------------------------- seq2seq

class Seq2Seq(nn.Module):
    """Encoder-decoder for sequence-to-sequence tasks, with or without
    attention.

    The encoder reads the source ``x_1 .. x_S`` into states
    ``h_1 .. h_S``. The decoder starts from the encoder's final state and
    at step ``t`` reads the previous target token ``y_{t-1}`` and a
    context vector ``c_t``::

        c_t = h_S                              (attention=None)
        c_t = Attention(s_{t-1}; h_1 .. h_S)   ("dot" or "additive")
        s_t = Cell([E y_{t-1}, c_t], s_{t-1})
        logits_t = W_out [s_t, c_t] + b_out

    Without attention every step sees the same fixed-size summary
    ``h_S`` of the whole source, the bottleneck of lesson 9; with
    attention the decoder looks back at all encoder states.

    Parameters
    ----------
    src_vocab : int
        Source vocabulary size.
    tgt_vocab : int
        ``V``, target vocabulary size.
    embed_dim : int
        ``E``, embedding size (source and target).
    hidden_size : int
        ``H``, encoder and decoder state size.
    cell : {"rnn", "lstm", "gru"}
    attention : {None, "dot", "additive"}
    seed : int, optional
        Seed for the initial weights.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int = 32,
                 hidden_size: int = 64, cell: str = "gru",
                 attention: str | None = None,
                 seed: int | None = None) -> None:
        super().__init__()
        if attention not in (None, "dot", "additive"):
            raise ValueError(
                f"attention is {attention!r}; expected None, 'dot' or "
                f"'additive'")
        self.cell = _check_cell(cell)
        self.attention_kind = attention
        H = hidden_size
        with seeded(seed):
            self.src_embed = nn.Embedding(src_vocab, embed_dim)
            self.encoder = make_rnn(cell, embed_dim, H)
            self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim)
            self.decoder_cell = _STEP_CELLS[cell](embed_dim + H, H)
            if attention == "dot":
                self.attention = DotAttention(scaled=True)
            elif attention == "additive":
                self.attention = AdditiveAttention(H, H, H)
            else:
                self.attention = None
            self.out = nn.Linear(2 * H, tgt_vocab)

    def encode(self, src: torch.Tensor,
               src_mask: torch.Tensor | None = None):
        """Run the encoder.

        Parameters
        ----------
        src : LongTensor, shape (N, S)
        src_mask : BoolTensor, shape (N, S), optional
            True at real tokens; padding must come after them. The padded
            steps are skipped (packed sequences), so the final state is
            the state after the last real token.

        Returns
        -------
        enc : Tensor, shape (N, S, H)
            Encoder states (zero at padded steps).
        state : Tensor (N, H), or for an LSTM a pair of them
            Final encoder state.
        """
        if src.dim() != 2:
            raise ValueError(
                f"src has shape {tuple(src.shape)}; expected (N, S) ids")
        emb = self.src_embed(src)                     # (N, S, E)
        if src_mask is None:
            enc, state = self.encoder(emb)            # (N, S, H)
        else:
            if src_mask.shape != src.shape:
                raise ValueError(
                    f"src_mask has shape {tuple(src_mask.shape)}; "
                    f"expected (N, S) = {tuple(src.shape)}")
            lengths = src_mask.sum(1)                 # (N,)
            if int(lengths.min()) < 1:
                raise ValueError("every source needs at least one real "
                                 "token in src_mask")
            packed = nn.utils.rnn.pack_padded_sequence(
                emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
            enc, state = self.encoder(packed)
            enc, _ = nn.utils.rnn.pad_packed_sequence(
                enc, batch_first=True, total_length=src.shape[1])
        if isinstance(state, tuple):                  # LSTM: (h, c)
            state = (state[0][-1], state[1][-1])      # each (N, H)
        else:
            state = state[-1]                         # (N, H)
        return enc, state

    def _step(self, y_prev, state, enc, h_S, src_mask):
        """One decoder step; returns logits ``(N, V)``, the new state and
        the attention weights ``(N, S)`` (or None)."""
        s_prev = state[0] if isinstance(state, tuple) else state  # (N, H)
        if self.attention is None:
            context, alpha = h_S, None                # (N, H)
        else:
            context, alpha = self.attention(s_prev, enc, enc, src_mask)
        inp = torch.cat([self.tgt_embed(y_prev), context], -1)  # (N, E+H)
        state = self.decoder_cell(inp, state)
        s_t = state[0] if isinstance(state, tuple) else state    # (N, H)
        logits = self.out(torch.cat([s_t, context], -1))         # (N, V)
        return logits, state, alpha

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor,
                src_mask: torch.Tensor | None = None):
        """Teacher-forced decoding.

        Parameters
        ----------
        src : LongTensor, shape (N, S)
        tgt_in : LongTensor, shape (N, T)
            The target shifted right: a start token, then ``y_1 ..
            y_{T-1}``.
        src_mask : BoolTensor, shape (N, S), optional
            True at real source tokens, False at padding. Padding must
            come after the real tokens.

        Returns
        -------
        logits : Tensor, shape (N, T, V)
        alpha : Tensor, shape (N, T, S), or None without attention
        """
        if tgt_in.dim() != 2 or tgt_in.shape[0] != src.shape[0]:
            raise ValueError(
                f"tgt_in has shape {tuple(tgt_in.shape)}; expected (N, T) "
                f"with N = {src.shape[0]}")
        enc, state = self.encode(src, src_mask)
        h_S = state[0] if isinstance(state, tuple) else state     # (N, H)
        logits, alphas = [], []
        for t in range(tgt_in.shape[1]):              # the decoder loop
            lg, state, alpha = self._step(tgt_in[:, t], state, enc, h_S,
                                          src_mask)
            logits.append(lg)
            alphas.append(alpha)
        alpha = None if self.attention is None else torch.stack(alphas, 1)
        return torch.stack(logits, 1), alpha          # (N, T, V)

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, bos_id: int, max_len: int,
                      src_mask: torch.Tensor | None = None):
        """Decode by taking the most likely token at every step.

        Returns
        -------
        ids : LongTensor, shape (N, max_len)
        alpha : Tensor, shape (N, max_len, S), or None
        """
        was_training = self.training
        self.eval()
        try:
            enc, state = self.encode(src, src_mask)
            h_S = state[0] if isinstance(state, tuple) else state
            y = torch.full((src.shape[0],), bos_id, dtype=torch.long)
            ids, alphas = [], []
            for _ in range(max_len):
                lg, state, alpha = self._step(y, state, enc, h_S,
                                              src_mask)
                y = lg.argmax(-1)                     # (N,)
                ids.append(y)
                alphas.append(alpha)
        finally:
            self.train(was_training)
        alpha = None if self.attention is None else torch.stack(alphas, 1)
        return torch.stack(ids, 1), alpha
