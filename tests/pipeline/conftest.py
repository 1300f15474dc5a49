"""A small BEIR-layout corpus for the batch-indexing tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ANIMALS = [
    ("cats", "Cats purr when they are content. A cat sleeps most of the day."),
    ("dogs", "Dogs bark at strangers and fetch sticks. A dog is a loyal pet."),
    ("birds", "Birds sing at dawn. Most birds can fly and build nests."),
    ("fish", "Fish swim in rivers and oceans. They breathe through gills."),
    ("snakes", "Snakes have no legs and move by slithering. Some snakes are venomous."),
    ("horses", "Horses gallop across fields. A horse can sleep standing up."),
]
EXTRA = [
    ("whales", "Whales are mammals that live in the ocean and sing long songs to each other."),
    ("owls", "Owls hunt at night. An owl can turn its head almost all the way around."),
    ("frogs", "Frogs start life as tadpoles in ponds and later breathe with lungs and skin."),
    ("bees", "Bees collect nectar from flowers and make honey in the hive for the winter."),
    ("ants", "Ants live in colonies with a queen; worker ants carry food back to the nest."),
    ("sharks", "Sharks are fish with skeletons of cartilage; most sharks must keep swimming to breathe."),
    ("parrots", "Parrots are birds that can mimic human speech and live for many decades."),
]


@pytest.fixture
def beir_folder(tmp_path: Path) -> Path:
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    corpus = [{"_id": i, "title": i.title(), "text": t} for i, t in ANIMALS + EXTRA]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus) + "\n", encoding="utf-8")
    (root / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "which animals breathe with gills"}) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tfish\t1\n", encoding="utf-8")
    return root
