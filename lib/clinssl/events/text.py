"""Event texts to fixed-size embeddings: pluggable encoders and an incremental embedding cache.

Every clinical event carries a one-line description ("Lactate 4.2 mmol/L abnormal"); the
sequence model consumes one fixed-size vector per event. Two encoders fill that role:

* ``tfidf`` (the offline default): word 1-2-grams and character 3-5-grams (``char_wb``) of a
  normalised text, tf-idf weighted and reduced with a seeded ``TruncatedSVD``. It is fitted on
  the *train* texts only, so no vocabulary, idf or component knows about validation or test
  texts. Word n-grams carry the templated meaning (drug, route, lab label, flag, the bigram
  "lactate <value bin>"); character n-grams give an unseen spelling or abbreviation of a known
  drug a nearby vector instead of none. Numbers matter clinically but exact values rarely
  repeat, so each number becomes a coarse *magnitude bin* token (decimal exponent and leading
  digit: 4.2 -> ``nump0d4``, 0.3 -> ``numm1d3``, 1500 -> ``nump3d1``; about one significant
  digit), which keeps "lactate 4.2" apart from "lactate 1.1" while "4.2" and "4.4" share
  statistics. Fitted state is saved as JSON (settings, vocabularies) plus NPZ (idf vectors,
  SVD components) and rebuilt from those: no pickle, because unpickling runs code.
* ``huggingface``: a frozen local model directory (e.g. a Clinical-Longformer checkout) read
  with ``local_files_only``; the embedding is the first-token (CLS / ``<s>``) vector of the last
  hidden state. ``transformers`` is an optional extra, imported only when this encoder is used.

The cache is one parquet table per fitted encoder. ``key`` is the hex SHA-256 of the exact
UTF-8 text (no normalisation: two spellings are two texts; 256 bits make collisions a
non-issue, which a 64-bit key could not promise for tens of millions of texts) and
``embedding`` is a ``fixed_size_list<float32>[dim]`` column, which reads back as one contiguous
buffer (measured for a million 64-d rows on one core: about 1.5 s against about 2 s for one
column per dimension, whose columns must then be stacked). The file's metadata records the
encoder's
fingerprint (``encoder_id``) and ``dim``; a cache written by another fit is refused, because
mixing two fits' vectors in one table would silently corrupt every downstream model.
Lookups hash only the *unique* texts of a request (``pandas.factorize`` first) and join keys
with ``pandas.Index.get_indexer``, so repeated texts cost a C-level hash and a gather.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from clinssl.utils.atomic import atomic_directory, atomic_path
from clinssl.utils.jsonio import read_json, write_json
from clinssl.utils.npz import write_npz
from clinssl.utils.seeding import derive_seed

__all__ = [
    "DEFAULT_TEXT_ENCODER",
    "TEXT_ENCODERS",
    "EmbeddingCache",
    "EmptyTextError",
    "HuggingFaceTextEncoder",
    "TextCacheError",
    "TextCacheMismatchError",
    "TextCacheMissError",
    "TextEncoder",
    "TextEncoderFileError",
    "TextEncoderUnavailableError",
    "TextEncodingError",
    "TfidfSettings",
    "TfidfTextEncoder",
    "UnknownTextEncoderError",
    "build_text_encoder",
    "cache_hit_rate",
    "embed_texts",
    "load_text_encoder",
    "normalize_event_text",
    "number_bin_token",
    "text_key",
    "text_keys",
]

#: the column every error about a text names (the extractor's field)
TEXT_FIELD = "event_text"
DEFAULT_TEXT_ENCODER = "tfidf"

TFIDF_JSON = "tfidf.json"
TFIDF_NPZ = "tfidf.npz"
_TFIDF_FORMAT = "clinssl.events.tfidf"
_TFIDF_VERSION = 1

_META_ENCODER_ID = b"clinssl.encoder_id"
_META_DIM = b"clinssl.dim"
_META_FORMAT = b"clinssl.format"
_CACHE_FORMAT = b"clinssl.events.text_cache.v1"


class TextEncodingError(ValueError):
    """Bad input to a text encoder or the cache; the message names file, field and expectation."""


class EmptyTextError(TextEncodingError):
    """An empty or missing event text: the extractor drops them, so one here is a bug upstream."""


class UnknownTextEncoderError(TextEncodingError):
    """A name that is not in :data:`TEXT_ENCODERS`."""


class TextEncoderFileError(TextEncodingError):
    """A saved encoder (or model directory) that cannot be rebuilt as it stands."""


class TextCacheError(TextEncodingError):
    """A cache file, or a request to the cache, that breaks the cache's contract."""


class TextCacheMismatchError(TextCacheError):
    """A cache written by another fitted encoder (or of another width) than the one asked for."""


class TextCacheMissError(TextCacheError):
    """A lookup of texts that were never embedded (``embed_texts`` adds them first)."""


class TextEncoderUnavailableError(ImportError):
    """The optional package an encoder needs is not installed."""


@runtime_checkable
class TextEncoder(Protocol):
    """What the cache and the sequence model need from an encoder.

    ``encoder_id`` fingerprints the *fitted* state (vocabulary and components, or model files),
    so two fits never share a cache; ``encode`` maps texts to ``(n, dim)`` float32.
    """

    name: str

    @property
    def dim(self) -> int: ...

    @property
    def encoder_id(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


# --------------------------------------------------------------------------- texts and keys


def _as_object_array(texts: Any, where: str) -> np.ndarray:
    """Texts as a 1-D object array (lists, tuples, arrays and pandas Series alike)."""
    if isinstance(texts, str):
        raise TextEncodingError(
            f"{where}: {TEXT_FIELD} must be a sequence of strings, got one string {texts[:40]!r}"
        )
    array = np.asarray(texts, dtype=object)
    if array.ndim != 1:
        raise TextEncodingError(
            f"{where}: {TEXT_FIELD} must be a 1-D sequence of strings, got shape {array.shape}"
        )
    return array


def _factorize_texts(texts: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` with ``uniques[codes] == texts``; every unique text is checked.

    Factorizing first means the per-text Python work (checks, hashing) runs once per distinct
    text, which is what makes the cache-hit path fast on event streams full of repeats.
    """
    codes, uniques = pd.factorize(_as_object_array(texts, where))
    if (codes < 0).any():
        position = int(np.flatnonzero(codes < 0)[0])
        raise EmptyTextError(
            f"{where}: {TEXT_FIELD} at position {position} is missing (None/NaN); expected a "
            "non-empty string (the extractor drops empty texts, so this is a bug upstream)"
        )
    uniques = np.asarray(uniques, dtype=object)
    for index, text in enumerate(uniques):
        if not isinstance(text, str) or not text.strip():
            position = int(np.flatnonzero(codes == index)[0])
            raise EmptyTextError(
                f"{where}: {TEXT_FIELD} at position {position} is {text!r}; expected a non-empty "
                "string (the extractor drops empty texts, so this is a bug upstream)"
            )
    return codes, uniques


def _checked_text_list(texts: Any, where: str) -> list[str]:
    """Texts as a list of non-empty strings (every one checked, in order)."""
    codes, uniques = _factorize_texts(texts, where)
    return uniques[codes].tolist()


def text_key(text: str) -> str:
    """The cache key of one text: hex SHA-256 of its exact UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """Cache keys of many texts, as an object array (callers pass unique texts)."""
    sha256 = hashlib.sha256
    return np.array([sha256(text.encode("utf-8")).hexdigest() for text in texts], dtype=object)


# --------------------------------------------------------------------------- text normalisation

_THOUSANDS_SEPARATOR = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
#: a number not glued to a preceding letter, so names such as D5W or B12 stay one token
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])\d+(?:\.\d+)?|(?<![A-Za-z_\d])\.\d+")


def number_bin_token(number: str) -> str:
    """The magnitude-bin token of a decimal number string (exact: no float rounding).

    ``num`` + sign of the decimal exponent (``p``/``m``) + its size + ``d`` + the leading
    digit: ``4.2 -> nump0d4``, ``0.03 -> numm2d3``, ``1500 -> nump3d1``, ``0 -> numzero``.
    """
    whole, _, fraction = number.partition(".")
    significant_whole = whole.lstrip("0")
    if significant_whole:
        return f"nump{len(significant_whole) - 1}d{significant_whole[0]}"
    significant_fraction = fraction.lstrip("0")
    if not significant_fraction:
        return "numzero"
    exponent = len(fraction) - len(significant_fraction) + 1
    return f"numm{exponent}d{significant_fraction[0]}"


def normalize_event_text(text: str) -> str:
    """Lower-case the text and replace each number by its magnitude-bin token.

    The bin token is surrounded by spaces so "5000units" gives the tokens ``nump3d5 units``;
    runs of whitespace then collapse to one space (character n-grams see a single gap).
    """
    text = _THOUSANDS_SEPARATOR.sub("", text.lower())
    text = _NUMBER.sub(lambda match: f" {number_bin_token(match.group(0))} ", text)
    return " ".join(text.split())


# --------------------------------------------------------------------------- tf-idf encoder

#: single characters stay tokens: microbiology interpretations are "R", "S", "I"
_WORD_TOKEN_PATTERN = r"(?u)\b\w+\b"


@dataclass(frozen=True)
class TfidfSettings:
    """Hyper-parameters of the tf-idf encoder (all of them are saved with the fit).

    ``max_features`` caps each analyzer's vocabulary (most frequent terms over the unique
    train texts); ``min_df`` counts unique train texts. Term frequencies are sublinear
    (``1 + log tf``) so a repeated word does not swamp a short text.
    """

    dim: int = 64
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    max_features: int = 50_000
    min_df: int = 1
    svd_iterations: int = 7

    def __post_init__(self) -> None:
        for name in ("dim", "max_features", "min_df", "svd_iterations"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise TextEncodingError(f"tfidf.{name}: expected a positive integer, got {value!r}")
        for name in ("word_ngrams", "char_ngrams"):
            low, high = getattr(self, name)
            if not (1 <= int(low) <= int(high)):
                raise TextEncodingError(
                    f"tfidf.{name}: expected (low, high) with 1 <= low <= high, got {(low, high)}"
                )
            object.__setattr__(self, name, (int(low), int(high)))


@dataclass(frozen=True)
class _TfidfBlock:
    """One analyzer's fitted part: its terms (column order) and their idf weights."""

    analyzer: str
    ngram_range: tuple[int, int]
    terms: tuple[str, ...]
    idf: np.ndarray

    def vectorizer(self, **fit_options: Any) -> CountVectorizer:
        """A counting vectorizer for this block (fixed vocabulary unless fitting)."""
        options: dict[str, Any] = {
            "analyzer": self.analyzer,
            "ngram_range": self.ngram_range,
            "lowercase": False,
            "dtype": np.float64,
        }
        if self.analyzer == "word":
            options["token_pattern"] = _WORD_TOKEN_PATTERN
        if fit_options:
            return CountVectorizer(**options, **fit_options)
        return CountVectorizer(**options, vocabulary=list(self.terms))


def _smooth_idf(counts: sparse.csr_matrix) -> np.ndarray:
    """``ln((1 + n) / (1 + df)) + 1``: the smoothed idf (as if one text held every term)."""
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1.0 + counts.shape[0]) / (1.0 + document_frequency)) + 1.0


def _fit_block(
    analyzer: str, ngram_range: tuple[int, int], settings: TfidfSettings, texts: list[str]
) -> _TfidfBlock:
    """Fit one analyzer's vocabulary and idf on the (normalised, unique) train texts."""
    empty = _TfidfBlock(analyzer, ngram_range, (), np.zeros(0))
    vectorizer = empty.vectorizer(min_df=settings.min_df, max_features=settings.max_features)
    try:
        counts = vectorizer.fit_transform(texts).tocsr()
    except ValueError as err:  # sklearn: "empty vocabulary; perhaps the documents only ..."
        raise TextEncodingError(
            f"tfidf.{analyzer}: no term survives min_df={settings.min_df} in the "
            f"{len(texts)} unique train texts ({err})"
        ) from err
    terms = tuple(sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__))
    return _TfidfBlock(analyzer, ngram_range, terms, _smooth_idf(counts))


def _tfidf_matrix(
    blocks: Sequence[_TfidfBlock], vectorizers: Sequence[CountVectorizer], texts: list[str]
) -> sparse.csr_matrix:
    """Rows of sublinear tf-idf per block, each block L2-normalised, scaled so a row has norm 1.

    Fitting and encoding both go through here, so a loaded encoder reproduces a fitted one.
    """
    scale = 1.0 / math.sqrt(len(blocks))
    parts = []
    for block, vectorizer in zip(blocks, vectorizers, strict=True):
        counts = vectorizer.transform(texts).tocsr()
        counts.data = 1.0 + np.log(counts.data)
        weighted = normalize(counts @ sparse.diags(block.idf), norm="l2", copy=False)
        parts.append(weighted * scale)
    return sparse.hstack(parts, format="csr")


class TfidfTextEncoder:
    """Tf-idf + truncated SVD, fitted on the train texts only (see the module docstring)."""

    name = "tfidf"

    def __init__(
        self,
        settings: TfidfSettings,
        seed: int,
        blocks: Sequence[_TfidfBlock],
        components: np.ndarray,
    ) -> None:
        self.settings = settings
        self.seed = int(seed)
        self._blocks = tuple(blocks)
        self._vectorizers = tuple(block.vectorizer() for block in self._blocks)
        self._components = np.ascontiguousarray(components, dtype=np.float32)
        self._projection = np.ascontiguousarray(self._components.T, dtype=np.float64)
        self._encoder_id = f"tfidf-{self._fingerprint()[:16]}"

    # -- construction
    @classmethod
    def fit(
        cls, train_texts: Sequence[str], *, seed: int, dim: int = 64, **settings: Any
    ) -> TfidfTextEncoder:
        """Fit on the unique train texts, sorted (order and repeats of the input do not matter).

        Deduplicating makes the idf count distinct texts: an order charted ten thousand
        times weighs as one text, so its words are not discounted as if they were everywhere.
        When the train texts span fewer than ``dim`` directions, the extra columns are zero.
        """
        fit_settings = TfidfSettings(dim=dim, **settings)
        _, uniques = _factorize_texts(train_texts, "tfidf.fit(train_texts)")
        normalised = [normalize_event_text(text) for text in sorted(uniques.tolist())]
        blocks = [
            _fit_block("word", fit_settings.word_ngrams, fit_settings, normalised),
            _fit_block("char_wb", fit_settings.char_ngrams, fit_settings, normalised),
        ]
        vectorizers = [block.vectorizer() for block in blocks]
        matrix = _tfidf_matrix(blocks, vectorizers, normalised)
        components = _svd_components(matrix, fit_settings, seed)
        return cls(fit_settings, seed, blocks, components)

    @classmethod
    def build(cls, train_texts: Sequence[str], *, seed: int, **options: Any) -> TfidfTextEncoder:
        """Registry entry point: the same as :meth:`fit`."""
        return cls.fit(train_texts, seed=seed, **options)

    # -- the encoder protocol
    @property
    def dim(self) -> int:
        return self.settings.dim

    @property
    def encoder_id(self) -> str:
        return self._encoder_id

    @property
    def vocabulary(self) -> frozenset[str]:
        """Terms of the word analyzer (n-grams of normalised tokens)."""
        return frozenset(self._blocks[0].terms)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, dim)`` float32; each row depends on its own text only (batch-independent)."""
        checked = _checked_text_list(texts, "tfidf.encode")
        if not checked:
            return np.zeros((0, self.dim), dtype=np.float32)
        normalised = [normalize_event_text(text) for text in checked]
        matrix = _tfidf_matrix(self._blocks, self._vectorizers, normalised)
        return np.asarray(matrix @ self._projection, dtype=np.float32)

    # -- persistence without pickle
    def _state_document(self) -> dict[str, Any]:
        return {
            "format": _TFIDF_FORMAT,
            "version": _TFIDF_VERSION,
            "seed": self.seed,
            "settings": asdict(self.settings),
            "blocks": [
                {
                    "analyzer": block.analyzer,
                    "ngram_range": list(block.ngram_range),
                    "terms": list(block.terms),
                }
                for block in self._blocks
            ],
        }

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {f"idf_{i}": np.asarray(b.idf, np.float64) for i, b in enumerate(self._blocks)}
        return {**arrays, "components": self._components}

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        document = json.dumps(self._state_document(), sort_keys=True, separators=(",", ":"))
        digest.update(document.encode("utf-8"))
        for name, array in sorted(self._arrays().items()):
            digest.update(name.encode("utf-8"))
            digest.update(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).data)
        return digest.hexdigest()

    def save(self, directory: str | Path) -> Path:
        """Write ``tfidf.json`` and ``tfidf.npz`` into ``directory`` (replaced atomically)."""
        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            write_json(tmp / TFIDF_JSON, {**self._state_document(), "encoder_id": self.encoder_id})
            write_npz(tmp / TFIDF_NPZ, self._arrays(), compress=False)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> TfidfTextEncoder:
        """Rebuild a saved fit from its JSON and NPZ (``allow_pickle=False``); checks it all."""
        directory = Path(directory)
        document = _read_tfidf_document(directory / TFIDF_JSON)
        arrays = _read_npz(directory / TFIDF_NPZ)
        encoder = _tfidf_from_parts(directory, document, arrays)
        if encoder.encoder_id != document.get("encoder_id"):
            raise TextEncoderFileError(
                f"{directory / TFIDF_JSON}: encoder_id {document.get('encoder_id')!r} does not "
                f"match the saved content ({encoder.encoder_id!r}); expected an unedited save"
            )
        return encoder


def _svd_components(matrix: sparse.csr_matrix, settings: TfidfSettings, seed: int) -> np.ndarray:
    """``(dim, n_terms)`` float32 SVD components; rows past the matrix's rank stay zero."""
    n_texts, n_terms = matrix.shape
    rank = min(settings.dim, n_terms, n_texts)
    if n_terms < 2:
        raise TextEncodingError(
            f"tfidf.fit(train_texts): the train texts give {n_terms} term(s); expected at least 2"
        )
    svd = TruncatedSVD(
        n_components=rank,
        n_iter=settings.svd_iterations,
        random_state=derive_seed(seed, "events", "tfidf-svd"),
    )
    svd.fit(matrix)
    components = np.zeros((settings.dim, n_terms), dtype=np.float32)
    components[:rank] = svd.components_
    return components


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise TextEncoderFileError(
            f"{path}: not a readable pickle-free .npz of the tf-idf arrays ({err})"
        ) from err


def _read_tfidf_document(path: Path) -> dict[str, Any]:
    try:
        document = read_json(path)
    except (OSError, ValueError) as err:
        raise TextEncoderFileError(f"{path}: cannot read the tf-idf settings ({err})") from err
    if not isinstance(document, dict):
        raise TextEncoderFileError(f"{path}: expected a JSON object, got {type(document).__name__}")
    for field, expected in (("format", _TFIDF_FORMAT), ("version", _TFIDF_VERSION)):
        if document.get(field) != expected:
            raise TextEncoderFileError(
                f"{path}: field {field!r} is {document.get(field)!r}; expected {expected!r}"
            )
    for field in ("seed", "settings", "blocks", "encoder_id"):
        if field not in document:
            raise TextEncoderFileError(f"{path}: field {field!r} is missing")
    return document


def _tfidf_from_parts(
    directory: Path, document: dict[str, Any], arrays: dict[str, np.ndarray]
) -> TfidfTextEncoder:
    """Check the JSON blocks against the NPZ arrays and build the encoder."""
    json_path, npz_path = directory / TFIDF_JSON, directory / TFIDF_NPZ
    try:
        settings = TfidfSettings(**document["settings"])
    except TypeError as err:
        raise TextEncoderFileError(f"{json_path}: field 'settings' is malformed ({err})") from err
    blocks = []
    for index, entry in enumerate(document["blocks"]):
        idf = arrays.get(f"idf_{index}")
        terms = tuple(entry.get("terms", ()))
        if idf is None or idf.shape != (len(terms),):
            raise TextEncoderFileError(
                f"{npz_path}: array 'idf_{index}' has shape {None if idf is None else idf.shape}; "
                f"expected ({len(terms)},), one weight per term of block {index} in "
                f"{json_path.name}"
            )
        low, high = (int(n) for n in entry["ngram_range"])
        blocks.append(_TfidfBlock(str(entry["analyzer"]), (low, high), terms, idf))
    components = arrays.get("components")
    expected = (settings.dim, sum(len(block.terms) for block in blocks))
    if components is None or components.shape != expected or components.dtype != np.float32:
        found = None if components is None else f"{components.shape} {components.dtype}"
        raise TextEncoderFileError(
            f"{npz_path}: array 'components' is {found}; expected float32 of shape {expected}"
        )
    return TfidfTextEncoder(settings, int(document["seed"]), blocks, components)


# --------------------------------------------------------------------------- Hugging Face encoder


def _import_transformers() -> Any:
    """``transformers``, imported on first use: the offline default needs none of it."""
    try:
        import transformers
    except ImportError as err:
        raise TextEncoderUnavailableError(
            "the 'huggingface' text encoder needs the optional 'transformers' package "
            "(install the extra: pip install -e '.[huggingface]'); the offline default 'tfidf' "
            "needs nothing more"
        ) from err
    return transformers


def _directory_fingerprint(model_dir: Path, max_length: int) -> str:
    """SHA-256 over every visible file of the model directory (names and bytes) + settings."""
    digest = hashlib.sha256(f"cls;max_length={max_length}".encode())
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    for path in files:
        relative = path.relative_to(model_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue  # a git checkout's .git, editor files: not part of the model
        digest.update(relative.as_posix().encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return f"huggingface-{digest.hexdigest()[:16]}"


class HuggingFaceTextEncoder:
    """A frozen local transformer; the embedding is the first token's last hidden state.

    Batches are encoded in the order given, right-padded, under ``torch.no_grad`` with the
    model in eval mode (no dropout), so identical calls give identical vectors. Padding is
    masked, so a text's vector changes with its batch only at float round-off.
    """

    name = "huggingface"

    def __init__(
        self,
        tokenizer: Any,
        model: Any,
        *,
        encoder_id: str,
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int = 128,
    ) -> None:
        if batch_size < 1 or max_length < 2:
            raise TextEncodingError(
                f"huggingface: expected batch_size >= 1 and max_length >= 2, got "
                f"{batch_size} and {max_length}"
            )
        self._tokenizer = tokenizer
        self._model = model
        self._device = device
        self._batch_size = int(batch_size)
        self._max_length = int(max_length)
        self._encoder_id = encoder_id
        self._dim = int(model.config.hidden_size)

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int = 128,
    ) -> HuggingFaceTextEncoder:
        """Load tokenizer and model from a local directory only (never the network).

        ``max_length`` truncates tokens; event texts are one line, far below 128 tokens.
        """
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise TextEncoderFileError(
                f"{model_dir}: not a directory; expected a local model checkout "
                "(config.json, tokenizer files, weights)"
            )
        transformers = _import_transformers()
        source = str(model_dir)
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = transformers.AutoModel.from_pretrained(source, local_files_only=True)
        model.eval()
        model.to(device)
        encoder_id = _directory_fingerprint(model_dir, max_length)
        return cls(
            tokenizer,
            model,
            encoder_id=encoder_id,
            device=device,
            batch_size=batch_size,
            max_length=max_length,
        )

    @classmethod
    def build(
        cls, train_texts: Sequence[str], *, seed: int, model_dir: str | Path, **options: Any
    ) -> HuggingFaceTextEncoder:
        """Registry entry point: a pretrained frozen model is not fitted, so the train texts
        and the seed are unused (accepted so every encoder is built the same way)."""
        del train_texts, seed
        return cls.load(model_dir, **options)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def encoder_id(self) -> str:
        return self._encoder_id

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, hidden_size)`` float32 CLS vectors, ``batch_size`` texts per forward pass."""
        import torch

        checked = _checked_text_list(texts, "huggingface.encode")
        output = np.zeros((len(checked), self.dim), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(checked), self._batch_size):
                batch = checked[start : start + self._batch_size]
                output[start : start + len(batch)] = self._cls_vectors(batch)
        return output

    def _cls_vectors(self, batch: list[str]) -> np.ndarray:
        tokens = self._tokenizer(
            batch, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt"
        )
        inputs = {name: tensor.to(self._device) for name, tensor in tokens.items()}
        hidden = self._model(**inputs).last_hidden_state
        return hidden[:, 0, :].float().cpu().numpy()


# --------------------------------------------------------------------------- registry

#: encoder name -> class with ``build(train_texts, *, seed, **options)`` and ``load(path, ...)``
TEXT_ENCODERS: Mapping[str, type[TfidfTextEncoder] | type[HuggingFaceTextEncoder]] = (
    MappingProxyType({"tfidf": TfidfTextEncoder, "huggingface": HuggingFaceTextEncoder})
)


def _encoder_class(name: str) -> type[TfidfTextEncoder] | type[HuggingFaceTextEncoder]:
    try:
        return TEXT_ENCODERS[name]
    except KeyError:
        raise UnknownTextEncoderError(
            f"text_encoder: unknown encoder {name!r}; expected one of {sorted(TEXT_ENCODERS)}"
        ) from None


def build_text_encoder(
    name: str, train_texts: Sequence[str], *, seed: int, **options: Any
) -> TextEncoder:
    """Build the named encoder from the train texts (``tfidf`` fits; ``huggingface`` loads
    ``model_dir`` from ``options``)."""
    return _encoder_class(name).build(train_texts, seed=seed, **options)


def load_text_encoder(name: str, path: str | Path, **options: Any) -> TextEncoder:
    """Load the named encoder from disk (a saved tf-idf fit, or a model directory)."""
    return _encoder_class(name).load(path, **options)


# --------------------------------------------------------------------------- the cache


def _empty_cache_arrays(dim: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=object), np.zeros((0, dim), dtype=np.float32)


def _read_cache_table(path: Path) -> pa.Table:
    try:
        return pq.read_table(path, columns=["key", "embedding"], memory_map=True)
    except (OSError, pa.ArrowException, KeyError) as err:
        raise TextCacheError(
            f"{path}: not a readable cache table (parquet with columns 'key', 'embedding'): {err}"
        ) from err


def _cache_identity(path: Path) -> tuple[str | None, int | None]:
    """``(encoder_id, dim)`` recorded in a cache file's schema metadata."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException) as err:
        raise TextCacheError(f"{path}: not a readable parquet file ({err})") from err
    if metadata.get(_META_FORMAT) != _CACHE_FORMAT:
        raise TextCacheError(
            f"{path}: metadata {_META_FORMAT.decode()!r} is {metadata.get(_META_FORMAT)!r}; "
            f"expected {_CACHE_FORMAT.decode()!r} (not a text-embedding cache)"
        )
    encoder_id = metadata.get(_META_ENCODER_ID)
    dim = metadata.get(_META_DIM)
    return (encoder_id.decode() if encoder_id else None, int(dim) if dim else None)


def _cache_arrays(table: pa.Table, path: Path, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The key and embedding columns as numpy, every contract point checked."""
    key_type, embedding_type = table.schema.field("key").type, table.schema.field("embedding").type
    if not pa.types.is_string(key_type) and not pa.types.is_large_string(key_type):
        raise TextCacheError(f"{path}: column 'key' is {key_type}; expected string (hex SHA-256)")
    if not (
        pa.types.is_fixed_size_list(embedding_type)
        and embedding_type.list_size == dim
        and embedding_type.value_type == pa.float32()
    ):
        raise TextCacheError(
            f"{path}: column 'embedding' is {embedding_type}; "
            f"expected {pa.list_(pa.float32(), dim)}"
        )
    embedding_column = table.column("embedding").combine_chunks()
    values = embedding_column.flatten()
    if embedding_column.null_count or values.null_count:
        raise TextCacheError(f"{path}: column 'embedding' holds nulls; expected full vectors")
    embeddings = values.to_numpy(zero_copy_only=False).reshape(len(table), dim)
    if not np.isfinite(embeddings).all():
        raise TextCacheError(f"{path}: column 'embedding' holds NaN/inf; expected finite values")
    key_column = table.column("key")
    lengths_ok = pc.all(pc.equal(pc.utf8_length(key_column), 64)).as_py() is not False
    if key_column.null_count or not lengths_ok:
        raise TextCacheError(
            f"{path}: column 'key' must hold 64-character hex SHA-256 keys, one per row"
        )
    return np.asarray(key_column.to_numpy(), dtype=object), embeddings


class EmbeddingCache:
    """Embeddings of one fitted encoder, keyed by text hash; grows in memory, saved atomically.

    Rows are appended in amortised O(1) (capacity doubling) and the key index is rebuilt
    once per :meth:`add`, so incremental embedding of a stream in chunks stays linear.
    :meth:`save` writes rows sorted by key: the file depends on the cache's content only,
    not on the order texts arrived in.
    """

    def __init__(
        self, path: Path, dim: int, encoder_id: str, keys: np.ndarray, embeddings: np.ndarray
    ) -> None:
        self.path = path
        self.dim = dim
        self.encoder_id = encoder_id
        self._size = len(keys)
        self._keys = np.array(keys, dtype=object)
        self._buffer = np.array(embeddings, dtype=np.float32, order="C")
        self._index = pd.Index(self._keys, dtype=object)

    @classmethod
    def open(
        cls, path: str | Path, dim: int, encoder_id: str, *, rebuild: bool = False
    ) -> EmbeddingCache:
        """Open the cache at ``path`` (empty when absent) for the encoder ``encoder_id``.

        A file written for another ``encoder_id`` or ``dim`` is refused; ``rebuild=True``
        starts an empty cache instead, which replaces that file at the next :meth:`save` (a
        file that is not a text-embedding cache at all is never overwritten: it is an error).
        """
        path = Path(path)
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise TextCacheError(f"{path}: dim must be a positive integer, got {dim!r}")
        if not isinstance(encoder_id, str) or not encoder_id:
            raise TextCacheError(
                f"{path}: encoder_id must be a non-empty string, got {encoder_id!r}"
            )
        if not path.exists():
            return cls(path, dim, encoder_id, *_empty_cache_arrays(dim))
        stored_id, stored_dim = _cache_identity(path)
        if (stored_id, stored_dim) != (encoder_id, dim):
            if rebuild:
                return cls(path, dim, encoder_id, *_empty_cache_arrays(dim))
            raise TextCacheMismatchError(
                f"{path}: metadata 'encoder_id' is {stored_id!r} (dim {stored_dim}); expected "
                f"{encoder_id!r} (dim {dim}). The cache was made by another encoder fit; delete "
                "it or open it with rebuild=True to start it afresh"
            )
        cache = cls(path, dim, encoder_id, *_cache_arrays(_read_cache_table(path), path, dim))
        if not cache._index.is_unique:  # builds the hash table that lookups then reuse
            raise TextCacheError(f"{path}: column 'key' repeats a key; expected one row per text")
        return cache

    def __len__(self) -> int:
        return self._size

    @property
    def embeddings(self) -> np.ndarray:
        """All cached vectors ``(len(self), dim)`` in insertion order (a read-only view)."""
        view = self._buffer[: self._size]
        view.flags.writeable = False
        return view

    # -- queries
    def _rows_of_keys(self, keys: np.ndarray) -> np.ndarray:
        if self._size == 0:
            return np.full(len(keys), -1, dtype=np.intp)
        return self._index.get_indexer(keys)

    def lookup(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, dim)`` float32, row ``i`` the vector of ``texts[i]`` (repeats allowed)."""
        codes, uniques = _factorize_texts(texts, f"{self.path} lookup")
        rows = self._rows_of_keys(text_keys(uniques))
        absent = np.flatnonzero(rows < 0)
        if absent.size:
            raise TextCacheMissError(
                f"{self.path}: {absent.size} of {len(uniques)} distinct {TEXT_FIELD} values are "
                f"not cached (first: {uniques[absent[0]]!r}); expected every text embedded "
                "first (embed_texts encodes the missing ones)"
            )
        return self._buffer[rows[codes]]

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The distinct texts not yet cached, sorted (so encoding batches do not depend on
        the order texts arrive in)."""
        _, uniques = _factorize_texts(texts, f"{self.path} missing")
        rows = self._rows_of_keys(text_keys(uniques))
        return sorted(uniques[rows < 0].tolist())

    # -- updates
    def _append(self, keys: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """Append rows for new, distinct keys; return their row numbers."""
        start, end = self._size, self._size + len(keys)
        if start == end:
            return np.zeros(0, dtype=np.intp)
        if end > len(self._buffer):
            capacity = max(end, 2 * len(self._buffer), 1024)
            grown_keys = np.empty(capacity, dtype=object)
            grown_keys[:start] = self._keys[:start]
            grown = np.zeros((capacity, self.dim), dtype=np.float32)
            grown[:start] = self._buffer[:start]
            self._keys, self._buffer = grown_keys, grown
        self._keys[start:end] = keys
        self._buffer[start:end] = embeddings
        self._size = end
        self._index = pd.Index(self._keys[:end], dtype=object)
        return np.arange(start, end, dtype=np.intp)

    def add(self, texts: Sequence[str], embeddings: np.ndarray) -> int:
        """Cache ``embeddings[i]`` for ``texts[i]``; return how many texts were new.

        The cache is append-only: a text already cached keeps its vector (one encoder fit
        gives one vector per text), and a text repeated in ``texts`` keeps its first row.
        """
        codes, uniques = _factorize_texts(texts, f"{self.path} add")
        vectors = _checked_embeddings(embeddings, len(codes), self.dim, f"{self.path} add")
        first_rows = np.unique(codes, return_index=True)[1]
        keys = text_keys(uniques)
        new = np.flatnonzero(self._rows_of_keys(keys) < 0)
        self._append(keys[new], vectors[first_rows[new]])
        return int(new.size)

    def save(self) -> Path:
        """Write the table (rows sorted by key) to a temporary sibling, then rename it."""
        keys = self._keys[: self._size]
        order = np.argsort(keys.astype("U64"), kind="stable")
        flat = pa.array(self._buffer[: self._size][order].reshape(-1), type=pa.float32())
        metadata = {
            _META_FORMAT: _CACHE_FORMAT,
            _META_ENCODER_ID: self.encoder_id.encode(),
            _META_DIM: str(self.dim).encode(),
        }
        schema = pa.schema(
            [("key", pa.string()), ("embedding", pa.list_(pa.float32(), self.dim))],
            metadata=metadata,
        )
        columns = [
            pa.array(keys[order].tolist(), type=pa.string()),
            pa.FixedSizeListArray.from_arrays(flat, self.dim),
        ]
        table = pa.Table.from_arrays(columns, schema=schema)
        with atomic_path(self.path) as tmp:
            pq.write_table(
                table, tmp, compression="snappy", use_dictionary=False, write_statistics=False
            )
        return self.path


def _checked_embeddings(embeddings: Any, n: int, dim: int, where: str) -> np.ndarray:
    """Vectors as float32 ``(n, dim)``, finite; otherwise a named error."""
    vectors = np.asarray(embeddings)
    if vectors.shape != (n, dim):
        raise TextCacheError(
            f"{where}: embeddings have shape {vectors.shape}; expected "
            f"({n}, {dim}), one row per {TEXT_FIELD}"
        )
    if not np.issubdtype(vectors.dtype, np.floating) or not np.isfinite(vectors).all():
        raise TextCacheError(
            f"{where}: embeddings must be finite floats, got dtype "
            f"{vectors.dtype} with non-finite or non-float values"
        )
    return vectors.astype(np.float32, copy=False)


def embed_texts(texts: Sequence[str], encoder: TextEncoder, cache: EmbeddingCache) -> np.ndarray:
    """``(n, dim)`` float32 embeddings of ``texts``, encoding only texts the cache lacks.

    The distinct uncached texts are encoded once (sorted), added to the cache, and every row
    is then gathered from the cache, so a cached text always returns its cached vector. The
    caller saves the cache (once, after its last call).
    """
    if (encoder.encoder_id, encoder.dim) != (cache.encoder_id, cache.dim):
        raise TextCacheMismatchError(
            f"{cache.path}: the cache holds encoder {cache.encoder_id!r} (dim {cache.dim}) but "
            f"the texts are encoded by {encoder.encoder_id!r} (dim {encoder.dim}); expected the "
            "cache opened with this encoder's encoder_id and dim"
        )
    codes, uniques = _factorize_texts(texts, f"{cache.path} embed_texts")
    keys = text_keys(uniques)
    rows = cache._rows_of_keys(keys)
    absent = np.flatnonzero(rows < 0)
    if absent.size:
        absent = absent[np.argsort(uniques[absent].astype(str), kind="stable")]
        new_texts = uniques[absent].tolist()
        vectors = _checked_embeddings(
            encoder.encode(new_texts), len(new_texts), cache.dim, f"encoder {encoder.encoder_id!r}"
        )
        rows[absent] = cache._append(keys[absent], vectors)
    return cache._buffer[rows[codes]]


# --------------------------------------------------------------------------- benchmark


class _RefusingEncoder:
    """An encoder that must never be called: the benchmark measures cache hits only."""

    name = "refusing"

    def __init__(self, dim: int, encoder_id: str) -> None:
        self.dim = dim
        self.encoder_id = encoder_id

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError(f"cache_hit_rate: {len(texts)} texts missed the cache")


def cache_hit_rate(
    n_texts: int = 200_000,
    n_unique: int = 20_000,
    dim: int = 64,
    *,
    seed: int = 0,
    repeats: int = 3,
) -> float:
    """Texts per second of :func:`embed_texts` when every text is cached (best of ``repeats``).

    The texts look like event texts (label, value, unit) and repeat as event streams do:
    ``n_texts`` draws from ``n_unique`` distinct texts, passed as a Python list.
    """
    rng = np.random.default_rng(derive_seed(seed, "events", "text-cache-benchmark"))
    distinct = [f"Lab item {i % 97} {i / 10:.1f} mmol/L flag {i % 3}" for i in range(n_unique)]
    texts = np.asarray(distinct, dtype=object)[rng.integers(0, n_unique, n_texts)].tolist()
    vectors = rng.standard_normal((n_unique, dim), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache.open(Path(tmp) / "benchmark.parquet", dim, "benchmark")
        cache.add(distinct, vectors)
        encoder = _RefusingEncoder(dim, "benchmark")
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            embed_texts(texts, encoder, cache)
            best = min(best, time.perf_counter() - start)
    return n_texts / best
