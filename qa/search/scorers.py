"""The fitted scorers kzqa ships: small linear models and calibration curves, stored as JSON in
`qa/data/answer_model.json` and applied with numpy, so the query path imports no training library.

They are fitted by `training/train_answer_model.py` on the original eval set and the user set's
`dev` split (never on `test`), which also prints their grouped cross-validated figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

MODEL_FILE = "answer_model.json"


@dataclass(frozen=True)
class LinearModel:
    """score = ((x - mean) / scale) . coef + intercept over named features."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def from_dict(cls, d: dict) -> LinearModel:
        n = len(d["features"])
        arrays = [np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
        if any(a.shape != (n,) for a in arrays):
            raise ValueError("model arrays do not match its features")
        return cls(tuple(d["features"]), *arrays, float(d["intercept"]))

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "mean": [round(float(x), 6) for x in self.mean],
            "scale": [round(float(x), 6) for x in self.scale],
            "coef": [round(float(x), 6) for x in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    def score(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds) of the rows of X, whose columns are self.features in order."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        return ((X - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.score(X)))


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a raw score to a probability, kept as points and interpolated linearly
    (training/answer_training.py fits it: Platt scaling on out-of-fold scores)."""

    x: np.ndarray
    y: np.ndarray

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        x, y = np.asarray(d["x"], dtype=np.float64), np.asarray(d["y"], dtype=np.float64)
        if x.shape != y.shape or x.size == 0 or np.any(np.diff(x) < 0):
            raise ValueError("bad calibration curve")
        return cls(x, y)

    def to_dict(self) -> dict:
        return {"x": [round(float(v), 6) for v in self.x], "y": [round(float(v), 6) for v in self.y]}

    def __call__(self, score: float | np.ndarray) -> np.ndarray:
        return np.interp(score, self.x, self.y)


@dataclass(frozen=True)
class ModeModel:
    """Everything fitted for one retrieval mode (a part left None is not fitted yet: the training
    script fits them in order)."""

    passage: LinearModel | None = None  # fusion of the retrieval signals (None: their plain sum)
    sentence: LinearModel | None = None  # which sentence answers
    confidence: LinearModel | None = None  # is the chosen sentence right?
    calibration: Calibration | None = None  # confidence score -> probability
    answer_threshold: float = 0.5  # outcome score at or above which kzqa answers plainly
    unsure_threshold: float = 0.0  # below this: "not in the report"; between: "unsure"
    answerable: LinearModel | None = None  # does the report answer this question at all?
    answerable_calibration: Calibration | None = None  # its score -> probability
    answerable_shift: float | None = None  # outcome score: min(logit(confidence), logit(answerable) + shift); None: confidence alone

    @classmethod
    def from_dict(cls, d: dict) -> ModeModel:
        def part(key, kind):
            return kind.from_dict(d[key]) if d.get(key) else None

        return cls(
            passage=part("passage", LinearModel),
            sentence=part("sentence", LinearModel),
            confidence=part("confidence", LinearModel),
            calibration=part("calibration", Calibration),
            answer_threshold=float(d["answer_threshold"]),
            unsure_threshold=float(d["unsure_threshold"]),
            answerable=part("answerable", LinearModel),
            answerable_calibration=part("answerable_calibration", Calibration),
            answerable_shift=None if d.get("answerable_shift") is None else float(d["answerable_shift"]),
        )

    def to_dict(self) -> dict:
        return {
            "passage": self.passage.to_dict() if self.passage else None,
            "sentence": self.sentence.to_dict() if self.sentence else None,
            "confidence": self.confidence.to_dict() if self.confidence else None,
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "answer_threshold": round(self.answer_threshold, 4),
            "unsure_threshold": round(self.unsure_threshold, 4),
            "answerable": self.answerable.to_dict() if self.answerable else None,
            "answerable_calibration": self.answerable_calibration.to_dict() if self.answerable_calibration else None,
            "answerable_shift": None if self.answerable_shift is None else round(self.answerable_shift, 4),
        }

    def outcome_score(self, probability: float, answerable: float | None = None) -> float:
        """What the thresholds cut: the confidence alone (a probability), or, where the
        answerability model is fitted, the lower of the two in log-odds (the answerability
        shifted onto the confidence's scale): an answer needs both a sentence that looks right
        and a question the report looks able to answer, so neither can outvote the other."""
        if self.answerable_shift is None:
            return float(probability)
        if answerable is None:
            return _logit(probability)
        return min(_logit(probability), _logit(answerable) + self.answerable_shift)

    def level(self, probability: float, answerable: float | None = None) -> str:
        score = self.outcome_score(probability, answerable)
        if score >= self.answer_threshold:
            return "answer"
        return "unsure" if score >= self.unsure_threshold else "none"


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1.0 - 1e-6)
    return float(np.log(p / (1.0 - p)))


@lru_cache(maxsize=1)
def _document() -> dict:
    return json.loads((resources.files("qa") / "data" / MODEL_FILE).read_text(encoding="utf-8"))


def shipped_models() -> dict[str, ModeModel]:
    """mode -> its fitted model, from the package data."""
    return {mode: ModeModel.from_dict(d) for mode, d in _document()["modes"].items()}


@lru_cache(maxsize=1)
def shipped_span_model() -> LinearModel:
    """The short-answer span ranker (the same for every mode)."""
    return LinearModel.from_dict(_document()["span"])


