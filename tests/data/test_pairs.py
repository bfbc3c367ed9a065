"""`target="pair"`: partners drawn as documented, test pairs only of unseen classes, the shapes
`load` promises."""

import numpy as np
import pytest
import tensorflow as tf

from pipeline.data import load, pairs


def test_partners_are_other_examples_half_of_the_same_class():
    labels = np.random.default_rng(1).integers(0, 5, 2000)
    partner, same = pairs.partners(labels, seed=3)
    assert (partner != np.arange(len(labels))).all()
    np.testing.assert_array_equal(same, (labels[partner] == labels).astype(np.int32))
    assert 0.45 < same.mean() < 0.55
    np.testing.assert_array_equal(pairs.partners(labels, seed=3)[0], partner)  # seeded


def test_the_test_split_pairs_only_classes_the_others_never_show():
    assert pairs.classes_of("train", 10) == list(range(7)) and pairs.classes_of("validation", 10) == list(range(7))
    assert pairs.classes_of("test", 10) == [7, 8, 9]
    assert pairs.classes_of("train", 4) == [0, 1] and pairs.classes_of("test", 4) == [2, 3]
    with pytest.raises(ValueError, match="at least 4 classes"):
        pairs.classes_of("train", 3)


def test_pair_up_stacks_each_example_with_its_partners():
    labels = np.repeat(np.arange(10), 6)
    images = np.broadcast_to(labels[:, None, None, None], (60, 4, 4, 1)).astype(np.float32)  # pixel = class
    examples = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})
    ds, count = pairs.pair_up(examples, "test", 10)
    found = list(ds.as_numpy_iterator())
    assert count == len(found) == 18 * pairs.ROUNDS
    first = np.array([p["image"][0, 0, 0, 0] for p in found])
    second = np.array([p["image"][1, 0, 0, 0] for p in found])
    assert set(first) | set(second) == {7.0, 8.0, 9.0}
    np.testing.assert_array_equal([p["pair"] for p in found], (first == second).astype(np.int32))
    assert [p["image"].shape for p in found[:1]] == [(2, 4, 4, 1)]


def test_load_gives_pairs_and_their_names(tfds_dir):
    ds, info = load("digits", "test", target="pair", batch_size=32, data_dir=tfds_dir, max_examples=40)
    x, y = next(iter(ds))
    assert info.input_shape == (2, 32, 32, 1) and info.class_names == ("different", "same")
    assert x.shape == (32, 2, 32, 32, 1) and set(y.numpy().tolist()) <= {0, 1} and info.num_examples == 40
    augmented, _ = load("digits", "train", target="pair", batch_size=8, data_dir=tfds_dir, augment=True)
    assert next(iter(augmented))[0].shape == (8, 2, 32, 32, 1)
    with pytest.raises(ValueError, match="not to photos"):
        load("photos", "test", target="pair")


def test_every_target_load_offers_has_one_training_objective():
    from pipeline.data.load import TARGETS
    from pipeline.training.objectives import OBJECTIVES

    assert list(OBJECTIVES) == list(TARGETS)
