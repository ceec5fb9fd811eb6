"""Event-text encoders and the embedding cache: tf-idf fitted on train texts only and saved
without pickle, the Hugging Face CLS encoder (a fake ``transformers`` always, a tiny real BERT
where the extra is installed), and the incremental, order-preserving, atomically saved cache."""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import random
import sys
import types
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from clinssl.events import text as text_module
from clinssl.events.text import (
    TEXT_ENCODERS,
    EmbeddingCache,
    EmptyTextError,
    HuggingFaceTextEncoder,
    TextCacheError,
    TextCacheMismatchError,
    TextCacheMissError,
    TextEncoderFileError,
    TextEncoderUnavailableError,
    TfidfTextEncoder,
    UnknownTextEncoderError,
    build_text_encoder,
    cache_hit_rate,
    embed_texts,
    load_text_encoder,
    normalize_event_text,
    number_bin_token,
)

TRAIN_TEXTS = [
    "Norepinephrine 0.1 mcg/kg/min IV",
    "Norepinephrine 0.25 mcg/kg/min IV",
    "Lactate 4.2 mmol/L abnormal",
    "Lactate 1.1 mmol/L",
    "BLOOD CULTURE STAPHYLOCOCCUS AUREUS OXACILLIN R",
    "BLOOD CULTURE STAPHYLOCOCCUS AUREUS VANCOMYCIN S",
    "Heparin 5000 units SC",
    "Creatinine 2.3 mg/dL abnormal",
    "Potassium Chloride 40 mEq PO",
    "Sodium 138 mEq/L",
]


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("number", "token"),
    [
        ("4.2", "nump0d4"),
        ("4.9", "nump0d4"),
        ("0.03", "numm2d3"),
        ("0.30", "numm1d3"),
        (".5", "numm1d5"),
        ("1500", "nump3d1"),
        ("007", "nump0d7"),
        ("0", "numzero"),
        ("0.00", "numzero"),
    ],
)
def test_number_bin_token_is_exponent_and_leading_digit(number: str, token: str) -> None:
    assert number_bin_token(number) == token


def test_normalize_event_text_lowercases_and_bins_numbers() -> None:
    assert normalize_event_text("Lactate 4.2 mmol/L abnormal") == "lactate nump0d4 mmol/l abnormal"
    assert normalize_event_text("D5W 1,000 mL") == "d5w nump3d1 ml"  # D5W is a name, not 5
    assert normalize_event_text("Heparin 5000units") == "heparin nump3d5 units"
    assert normalize_event_text("Lactate 4.2") == normalize_event_text("LACTATE 4.4")
    assert normalize_event_text("Lactate 4.2") != normalize_event_text("Lactate 1.1")


# --------------------------------------------------------------------------- tf-idf encoder


def _independent_tfidf(texts: list[str], encoder: TfidfTextEncoder) -> np.ndarray:
    """The documented features rebuilt with sklearn's own TfidfVectorizer: sublinear tf, smooth
    idf, L2 per analyzer, the two analyzers side by side scaled by 1/sqrt(2)."""
    normalised = [normalize_event_text(t) for t in sorted(set(texts))]
    blocks = []
    for analyzer, ngrams in (("word", (1, 2)), ("char_wb", (3, 5))):
        extra = {"token_pattern": r"(?u)\b\w+\b"} if analyzer == "word" else {}
        vectorizer = TfidfVectorizer(
            analyzer=analyzer, ngram_range=ngrams, lowercase=False, sublinear_tf=True, **extra
        )
        blocks.append(vectorizer.fit_transform(normalised))
    assert encoder.vocabulary == set(
        TfidfVectorizer(ngram_range=(1, 2), lowercase=False, token_pattern=r"(?u)\b\w+\b")
        .fit(normalised)
        .vocabulary_
    )
    return sparse.hstack(blocks).toarray() / math.sqrt(2.0)


def test_tfidf_embeddings_keep_the_tfidf_geometry_of_the_train_texts() -> None:
    """With dim above the number of texts the SVD keeps every direction, so embedding inner
    products must equal the inner products of independently computed tf-idf rows."""
    encoder = TfidfTextEncoder.fit(TRAIN_TEXTS, seed=3, dim=16)
    features = _independent_tfidf(TRAIN_TEXTS, encoder)
    embedded = encoder.encode(sorted(set(TRAIN_TEXTS))).astype(np.float64)
    assert embedded.shape == (10, 16)
    np.testing.assert_allclose(embedded @ embedded.T, features @ features.T, atol=1e-5)
    np.testing.assert_array_equal(embedded[:, 10:], 0.0)  # past the rank: zero columns


def test_tfidf_is_fitted_on_train_texts_only() -> None:
    encoder = TfidfTextEncoder.fit(TRAIN_TEXTS, seed=0, dim=8)
    assert "lactate" in encoder.vocabulary and "lactate nump0d4" in encoder.vocabulary
    assert not any("qjxzv" in term for term in encoder.vocabulary)
    unseen, lactate, mixed = encoder.encode(["QJXZV", "Lactate", "Lactate QJXZV"])
    assert np.isfinite(unseen).all() and not unseen.any()  # no known term at all: the origin
    np.testing.assert_array_equal(mixed, lactate)  # an unknown word adds nothing
    assert lactate.any()


def test_tfidf_is_deterministic_and_ignores_order_and_repeats_of_the_train_texts() -> None:
    shuffled = TRAIN_TEXTS * 3
    random.Random(1).shuffle(shuffled)
    first = TfidfTextEncoder.fit(TRAIN_TEXTS, seed=7, dim=4)
    second = TfidfTextEncoder.fit(shuffled, seed=7, dim=4)
    probe = ["Lactate 3.9 mmol/L", "Norepinephrine 0.2 mcg/kg/min IV", "QJXZV"]
    assert first.encode(probe).tobytes() == second.encode(probe).tobytes()
    assert first.encoder_id == second.encoder_id
    assert TfidfTextEncoder.fit(TRAIN_TEXTS, seed=8, dim=4).encoder_id != first.encoder_id
    assert first.encode(probe).dtype == np.float32 and first.encode(probe).shape == (3, 4)
    # each row depends on its own text only
    assert first.encode(probe[1:2]).tobytes() == first.encode(probe).tobytes()[16:32]


def test_tfidf_save_load_round_trip_without_pickle(tmp_path, monkeypatch) -> None:
    encoder = TfidfTextEncoder.fit(TRAIN_TEXTS, seed=2, dim=6)
    saved = encoder.save(tmp_path / "enc")
    assert sorted(p.name for p in saved.iterdir()) == ["tfidf.json", "tfidf.npz"]
    document = json.loads((saved / "tfidf.json").read_text())
    with np.load(saved / "tfidf.npz", allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["components", "idf_0", "idf_1"]
        assert all(arrays[name].dtype.kind == "f" for name in arrays.files)
        idf_word = dict(zip(document["blocks"][0]["terms"], arrays["idf_0"], strict=True))
    # smooth idf ln((1 + n) / (1 + df)) + 1 by hand: 10 unique train texts, "lactate" in 2
    assert idf_word["lactate"] == pytest.approx(math.log(11 / 3) + 1)
    assert idf_word["sodium"] == pytest.approx(math.log(11 / 2) + 1)

    def refuse(*args, **kwargs):
        raise AssertionError("loading must not unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    loaded = TfidfTextEncoder.load(saved)
    probe = ["Lactate 4.2 mmol/L abnormal", "Vancomycin 1 g IV", "QJXZV"]
    assert loaded.encode(probe).tobytes() == encoder.encode(probe).tobytes()
    assert loaded.encoder_id == encoder.encoder_id == document["encoder_id"]
    assert load_text_encoder("tfidf", saved).encoder_id == encoder.encoder_id
    again = loaded.save(tmp_path / "again")  # a save is a pure function of the fit
    for name in ("tfidf.json", "tfidf.npz"):
        assert (again / name).read_bytes() == (saved / name).read_bytes()


def test_tfidf_load_refuses_edited_or_broken_files(tmp_path) -> None:
    saved = TfidfTextEncoder.fit(TRAIN_TEXTS, seed=2, dim=6).save(tmp_path / "enc")
    document = json.loads((saved / "tfidf.json").read_text())
    document["blocks"][0]["terms"][0] = "zzz"
    (saved / "tfidf.json").write_text(json.dumps(document))
    with pytest.raises(TextEncoderFileError, match=r"tfidf\.json: encoder_id"):
        TfidfTextEncoder.load(saved)
    document["blocks"][0]["terms"].pop()
    (saved / "tfidf.json").write_text(json.dumps(document))
    with pytest.raises(TextEncoderFileError, match=r"tfidf\.npz: array 'idf_0'"):
        TfidfTextEncoder.load(saved)
    (saved / "tfidf.npz").write_bytes(b"not a zip")
    with pytest.raises(TextEncoderFileError, match=r"tfidf\.npz"):
        TfidfTextEncoder.load(saved)


def test_registry_builds_by_name_and_names_the_choices() -> None:
    assert set(TEXT_ENCODERS) == {"tfidf", "huggingface"}
    encoder = build_text_encoder("tfidf", TRAIN_TEXTS, seed=0, dim=5)
    assert encoder.dim == 5 and encoder.encoder_id.startswith("tfidf-")
    with pytest.raises(UnknownTextEncoderError, match=r"'bert'.*\['huggingface', 'tfidf'\]"):
        build_text_encoder("bert", TRAIN_TEXTS, seed=0)


# --------------------------------------------------------------------------- the cache


def _vector(text: str, dim: int) -> np.ndarray:
    """An encoder-independent reference vector for a text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return np.frombuffer(digest[:dim], dtype=np.uint8).astype(np.float32)


class _CountingEncoder:
    name = "counting"

    def __init__(self, dim: int = 4, encoder_id: str = "counting-v1") -> None:
        self.dim, self.encoder_id, self.calls = dim, encoder_id, []

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.stack([_vector(t, self.dim) for t in texts])


def _expected(texts: list[str], dim: int = 4) -> np.ndarray:
    return np.stack([_vector(t, dim) for t in texts])


def test_embed_texts_encodes_only_unseen_texts(tmp_path) -> None:
    path = tmp_path / "cache.parquet"
    encoder = _CountingEncoder()
    cache = EmbeddingCache.open(path, 4, encoder.encoder_id)
    first = ["b lactate", "a heparin", "b lactate"]
    np.testing.assert_array_equal(embed_texts(first, encoder, cache), _expected(first))
    assert encoder.calls == [["a heparin", "b lactate"]]  # unique, sorted
    second = ["a heparin", "c sodium", "b lactate", "c sodium"]
    np.testing.assert_array_equal(embed_texts(second, encoder, cache), _expected(second))
    assert encoder.calls[1:] == [["c sodium"]]  # exactly the one new text
    cache.save()
    reopened = EmbeddingCache.open(path, 4, encoder.encoder_id)
    assert len(reopened) == 3
    np.testing.assert_array_equal(embed_texts(second, encoder, reopened), _expected(second))
    assert len(encoder.calls) == 2  # everything came from the file


def test_lookup_preserves_order_with_repeats_and_missing_lists_the_rest(tmp_path) -> None:
    cache = EmbeddingCache.open(tmp_path / "c.parquet", 2, "enc")
    vectors = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    assert cache.add(["x", "y", "z"], vectors) == 3
    assert cache.add(["y", "w", "w"], np.array([[9, 9], [7, 8], [0, 0]], np.float32)) == 1
    out = cache.lookup(["z", "x", "z", "y", "x", "w"])
    np.testing.assert_array_equal(out, [[5, 6], [1, 2], [5, 6], [3, 4], [1, 2], [7, 8]])
    assert out.dtype == np.float32 and cache.lookup([]).shape == (0, 2)
    assert cache.missing(["q", "x", "p", "q"]) == ["p", "q"]
    with pytest.raises(TextCacheMissError, match=r"c\.parquet: 1 of 2 distinct event_text.*'q'"):
        cache.lookup(["x", "q"])


def test_cache_file_is_keyed_by_sha256_and_independent_of_insertion_order(tmp_path) -> None:
    texts = ["Lactate 4.2 mmol/L", "Heparin 5000 units SC", "NaCl 0.9% 1000 mL"]
    one = EmbeddingCache.open(tmp_path / "one.parquet", 4, "enc")
    one.add(texts, _expected(texts))
    one.save()
    other = EmbeddingCache.open(tmp_path / "other.parquet", 4, "enc")
    other.add(texts[::-1], _expected(texts[::-1]))
    other.save()
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "other.parquet").read_bytes()
    table = pq.read_table(tmp_path / "one.parquet")
    by_key = {hashlib.sha256(t.encode("utf-8")).hexdigest(): t for t in texts}
    assert table.column("key").to_pylist() == sorted(by_key)
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 4)
    stored = np.array(table.column("embedding").to_pylist(), dtype=np.float32)
    np.testing.assert_array_equal(stored, _expected([by_key[k] for k in sorted(by_key)]))


def test_a_cache_from_another_encoder_is_refused(tmp_path) -> None:
    path = tmp_path / "cache.parquet"
    cache = EmbeddingCache.open(path, 4, "tfidf-aaaa")
    cache.add(["x"], np.ones((1, 4), np.float32))
    cache.save()
    with pytest.raises(TextCacheMismatchError, match=r"cache\.parquet.*'tfidf-aaaa'.*'tfidf-bbbb'"):
        EmbeddingCache.open(path, 4, "tfidf-bbbb")
    with pytest.raises(TextCacheMismatchError, match=r"dim 4.*dim 8"):
        EmbeddingCache.open(path, 8, "tfidf-aaaa")
    assert len(EmbeddingCache.open(path, 4, "tfidf-bbbb", rebuild=True)) == 0
    with pytest.raises(TextCacheMismatchError, match="'counting-v1'"):
        embed_texts(["x"], _CountingEncoder(), EmbeddingCache.open(path, 4, "tfidf-aaaa"))


def test_save_is_atomic(tmp_path, monkeypatch) -> None:
    path = tmp_path / "cache.parquet"
    cache = EmbeddingCache.open(path, 2, "enc")
    cache.add(["x"], np.ones((1, 2), np.float32))
    cache.save()
    assert [p.name for p in tmp_path.iterdir()] == ["cache.parquet"]
    before = path.read_bytes()
    cache.add(["y"], np.zeros((1, 2), np.float32))

    def write_half_then_fail(table, where, **kwargs):
        open(where, "wb").write(before[: len(before) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(text_module.pq, "write_table", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        cache.save()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cache.parquet"]


def test_broken_cache_files_are_named(tmp_path) -> None:
    path = tmp_path / "cache.parquet"
    path.write_bytes(b"garbage")
    with pytest.raises(TextCacheError, match=r"cache\.parquet: not a readable parquet"):
        EmbeddingCache.open(path, 2, "enc")
    pq.write_table(pa.table({"key": ["a"], "embedding": [[1.0, 2.0]]}), path)
    with pytest.raises(TextCacheError, match="not a text-embedding cache"):
        EmbeddingCache.open(path, 2, "enc")
    with pytest.raises(TextCacheError, match="not a text-embedding cache"):  # never overwritten
        EmbeddingCache.open(path, 2, "enc", rebuild=True)
    repeated = tmp_path / "repeated.parquet"
    good = EmbeddingCache.open(repeated, 2, "enc")
    good.add(["x", "y"], np.ones((2, 2), np.float32))
    good.save()
    table = pq.read_table(repeated)
    twice = table.set_column(0, "key", pa.array([table.column("key")[0].as_py()] * 2))
    pq.write_table(twice.replace_schema_metadata(table.schema.metadata), repeated)
    with pytest.raises(TextCacheError, match="column 'key' repeats a key"):
        EmbeddingCache.open(repeated, 2, "enc")
    cache = EmbeddingCache.open(tmp_path / "c2.parquet", 2, "enc")
    with pytest.raises(TextCacheError, match=r"shape \(1, 3\); expected \(1, 2\)"):
        cache.add(["x"], np.zeros((1, 3), np.float32))
    with pytest.raises(TextCacheError, match="finite"):
        cache.add(["x"], np.array([[np.nan, 0.0]], np.float32))


@pytest.mark.parametrize("bad", ["", "   ", None, float("nan")])
def test_empty_texts_are_a_clear_error(tmp_path, bad) -> None:
    cache = EmbeddingCache.open(tmp_path / "c.parquet", 4, "counting-v1")
    encoder = _CountingEncoder()
    texts = ["Lactate 4.2", bad, "Lactate 4.2"]
    with pytest.raises(EmptyTextError, match=r"event_text at position 1.*non-empty string"):
        embed_texts(texts, encoder, cache)
    with pytest.raises(EmptyTextError, match="position 1"):
        cache.lookup(texts)
    with pytest.raises(EmptyTextError, match="position 1"):
        cache.add(texts, np.zeros((3, 4), np.float32))
    with pytest.raises(EmptyTextError, match="position 1"):
        TfidfTextEncoder.fit(TRAIN_TEXTS, seed=0, dim=4).encode(texts)
    assert encoder.calls == [] and len(cache) == 0


def test_cache_hit_rate_runs_the_hit_path() -> None:
    rate = cache_hit_rate(2_000, 200, 8, repeats=1)
    assert math.isfinite(rate) and rate > 0


# --------------------------------------------------------------------------- Hugging Face


class _FakeTokenizer:
    """Token 0 is 100 + the text's length (a stand-in CLS), then one id per character."""

    def __call__(self, batch, *, padding, truncation, max_length, return_tensors):
        assert padding is True and truncation is True and return_tensors == "pt"
        rows = [([100 + len(t)] + [ord(c) for c in t])[:max_length] for t in batch]
        width = max(map(len, rows))
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
        return {"input_ids": ids, "attention_mask": mask}


class _FakeModel(torch.nn.Module):
    """hidden[b, t] = ids[b, t] * (1, 2, 3) + 1000 t; position 0 is (100 + len) * (1, 2, 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(hidden_size=3)
        self.scale = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
        self.seen, self.devices = [], []

    def to(self, device):
        self.devices.append(device)
        return super().to(device)

    def forward(self, input_ids, attention_mask):
        self.seen.append((input_ids.shape[0], torch.is_grad_enabled(), self.training))
        positions = torch.arange(input_ids.shape[1], dtype=torch.float32)[None, :, None]
        hidden = input_ids[..., None].float() * self.scale + 1000.0 * positions
        return SimpleNamespace(last_hidden_state=hidden)


def test_huggingface_takes_the_first_token_batched_without_grad(tmp_path, monkeypatch) -> None:
    model, calls = _FakeModel(), []

    def loader(kind, result):
        return staticmethod(lambda path, **kw: calls.append((kind, path, kw)) or result)

    fake = types.ModuleType("transformers")
    tokenizer_loader = {"from_pretrained": loader("tok", _FakeTokenizer())}
    fake.AutoTokenizer = type("AutoTokenizer", (), tokenizer_loader)
    fake.AutoModel = type("AutoModel", (), {"from_pretrained": loader("model", model)})
    monkeypatch.setitem(sys.modules, "transformers", fake)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    encoder = HuggingFaceTextEncoder.load(model_dir, device="cpu", batch_size=2, max_length=8)
    assert calls == [
        ("tok", str(model_dir), {"local_files_only": True}),
        ("model", str(model_dir), {"local_files_only": True}),
    ]
    texts = ["ab", "hello", "x", "a longer text"]
    out = encoder.encode(texts)
    expected = np.outer([100 + len(t) for t in texts], [1.0, 2.0, 3.0]).astype(np.float32)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32 and encoder.dim == 3
    assert model.seen == [(2, False, False), (2, False, False)] and model.devices == ["cpu"]
    (model_dir / "config.json").write_text('{"changed": 1}')
    rebuilt = TEXT_ENCODERS["huggingface"].build(["unused"], seed=0, model_dir=model_dir)
    assert rebuilt.encoder_id.startswith("huggingface-")
    assert rebuilt.encoder_id != encoder.encoder_id  # other model files: another cache


def test_huggingface_without_transformers_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes the import fail
    with pytest.raises(TextEncoderUnavailableError, match="optional 'transformers' package"):
        HuggingFaceTextEncoder.load(tmp_path)
    with pytest.raises(TextEncoderFileError, match="not a directory"):
        HuggingFaceTextEncoder.load(tmp_path / "absent")


def test_huggingface_tiny_bert_cls_shape_and_determinism(tmp_path) -> None:
    transformers = pytest.importorskip(
        "transformers", reason="the optional 'transformers' extra is not installed"
    )
    words = ["lactate", "mmol", "blood", "culture", "norepinephrine", "iv", "abnormal"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *"0123456789./"]
    model_dir = tmp_path / "tiny-bert"
    model_dir.mkdir()
    (model_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = transformers.BertTokenizer(str(model_dir / "vocab.txt"))
    tokenizer.save_pretrained(str(model_dir))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(model_dir))
    encoder = HuggingFaceTextEncoder.load(model_dir, batch_size=2, max_length=32)
    texts = ["Lactate 4.2 mmol/L abnormal", "blood culture", "norepinephrine 0.1 iv"]
    first, second = encoder.encode(texts), encoder.encode(texts)
    assert first.shape == (3, 16) and first.dtype == np.float32
    assert first.tobytes() == second.tobytes()
    model = transformers.AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    for row, text in zip(first, texts, strict=True):  # each text alone: no padding at all
        with torch.no_grad():
            alone = model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0, 0]
        np.testing.assert_allclose(row, alone.numpy(), atol=1e-5)
