"""`pipeline.data.load`: the contract, seeds, splits, augmentation, resizing, targets, errors."""

import hashlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pipeline.data import DatasetInfo, load
from tests.data import reference

SMALL_BARS = dict(train_size=400, test_size=100)


def first_batch(ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    x, y = next(iter(ds))
    return x.numpy(), y.numpy()


def fingerprints(ds: tf.data.Dataset) -> set[str]:
    return {hashlib.sha1(x.tobytes()).hexdigest() for x, _ in ds.as_numpy_iterator()}


@pytest.mark.parametrize(
    "name, shape, num_classes",
    [("digits", (32, 32, 1), 10), ("bars", (32, 32, 1), 4), ("shapes", (64, 64, 3), 3), ("signals", (128, 1), 4)],
)
def test_contract(name, shape, num_classes, tfds_dir):
    ds, info = load(name, "test", batch_size=50, data_dir=tfds_dir)
    assert isinstance(info, DatasetInfo)
    assert (info.input_shape, info.num_classes, len(info.class_names)) == (shape, num_classes, num_classes)
    seen, labels = 0, []
    for x, y in ds:
        assert x.dtype == tf.float32 and x.shape[1:] == shape and x.shape[0] <= 50
        assert float(tf.reduce_min(x)) >= 0.0 and float(tf.reduce_max(x)) <= 1.0
        assert y.dtype.is_integer and y.shape == (x.shape[0],)
        seen += x.shape[0]
        labels.extend(y.numpy())
    assert seen == info.num_examples
    assert set(labels) == set(range(num_classes))


def test_same_seed_same_first_batch_and_reshuffled_epochs(tfds_dir):
    kwargs = dict(batch_size=32, data_dir=tfds_dir, augment=True, options=SMALL_BARS)
    a, _ = load("bars", "train", shuffle_seed=7, **kwargs)
    b, _ = load("bars", "train", shuffle_seed=7, **kwargs)
    c, _ = load("bars", "train", shuffle_seed=8, **kwargs)
    xa, ya = first_batch(a)
    xb, yb = first_batch(b)
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(xa, first_batch(c)[0])
    assert not np.array_equal(xa, first_batch(a)[0])  # the second epoch is another order


def test_evaluation_splits_keep_their_order(tfds_dir):
    a, _ = load("digits", "test", batch_size=64, data_dir=tfds_dir, shuffle_seed=1)
    b, _ = load("digits", "test", batch_size=64, data_dir=tfds_dir, shuffle_seed=2)
    np.testing.assert_array_equal(first_batch(a)[1], first_batch(b)[1])


def test_train_validation_test_are_disjoint(tfds_dir):
    splits = {
        split: load("bars", split, data_dir=tfds_dir, options=SMALL_BARS) for split in ("train", "validation", "test")
    }
    prints = {split: fingerprints(ds) for split, (ds, _) in splits.items()}
    counts = {split: info.num_examples for split, (_, info) in splits.items()}
    assert counts == {"train": 360, "validation": 40, "test": 100}
    assert all(len(prints[s]) == counts[s] for s in counts)  # noise makes every image unique
    assert not prints["train"] & prints["validation"]
    assert not prints["train"] & prints["test"]
    assert not prints["validation"] & prints["test"]
    whole, _ = load("bars", "train", data_dir=tfds_dir, options=SMALL_BARS, validation_fraction=0.0)
    assert fingerprints(whole) == prints["train"] | prints["validation"]


def test_a_subset_is_seeded_drawn_from_the_whole_split_and_fixed_over_epochs(tfds_dir):
    whole, _ = load("bars", "train", data_dir=tfds_dir, options=SMALL_BARS, shuffle_seed=None)
    ordered = [hashlib.sha1(x.tobytes()).hexdigest() for x, _ in whole.as_numpy_iterator()]
    ds, info = load("bars", "train", data_dir=tfds_dir, options=SMALL_BARS, subset=50, shuffle_seed=None, epochs=2)
    kept = [hashlib.sha1(x.tobytes()).hexdigest() for x, _ in ds.as_numpy_iterator()]
    assert info.num_examples == 50 and kept[:50] == kept[50:]  # two epochs, the same examples
    rng = np.random.default_rng(0)  # SUBSET_SEED: an independent draw of the same subset
    assert kept[:50] == [ordered[i] for i in sorted(rng.choice(len(ordered), 50, replace=False))]
    assert max(ordered.index(h) for h in kept[:50]) > 300  # from the whole split, not its start
    with pytest.raises(ValueError, match=r"from 1 to the split's 360 examples. Received: subset=361"):
        load("bars", "train", data_dir=tfds_dir, options=SMALL_BARS, subset=361)


def test_augment_crops_and_never_mirrors_bars(tfds_dir):
    plain, _ = load("bars", "train", data_dir=tfds_dir, options=SMALL_BARS, shuffle_seed=3)
    augmented, _ = load("bars", "train", data_dir=tfds_dir, options=SMALL_BARS, shuffle_seed=3, augment=True)
    shifts = 0
    for (x, _), (xa, _) in zip(plain.take(40).as_numpy_iterator(), augmented.take(40).as_numpy_iterator()):
        is_crop, mirrored = reference.crop_and_mirror(x, xa, max_shift=4)
        assert is_crop and not mirrored
        shifts += not np.array_equal(x, xa)
    assert shifts > 30


def _moved(image: np.ndarray, angle: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)) -> np.ndarray:
    """One image through `transforms.affine_transforms` and Keras's affine_transform."""
    import keras

    from pipeline.data.transforms import affine_transforms

    h, w = image.shape[:2]
    t = affine_transforms(tf.constant([angle]), tf.constant([scale]), tf.constant([shift], tf.float32), h, w)
    return np.asarray(keras.ops.image.affine_transform(image[None], t, fill_mode="constant"))[0]


def test_affine_transforms_turn_scale_and_move_about_the_centre():
    image = np.random.default_rng(0).uniform(size=(7, 7, 1)).astype(np.float32)
    np.testing.assert_allclose(_moved(image), image, atol=1e-6)
    np.testing.assert_allclose(_moved(image, angle=np.pi / 2), np.rot90(image), atol=1e-5)  # counter-clockwise
    np.testing.assert_allclose(_moved(image, shift=(2, -1)), reference.shifted(image, 2, -1), atol=1e-6)
    impulse = np.zeros((7, 7, 1), np.float32)
    impulse[3, 5] = 1.0  # two pixels right of the centre (3, 3)
    half = _moved(impulse, scale=0.5)  # reads from twice as far: the pixel one right of the centre
    assert half[3, 4, 0] == pytest.approx(1.0) and half.sum() == pytest.approx(1.0)


def test_digits_are_jittered_not_cropped(tfds_dir):
    """Digits fill their 8x8 frame, so they get small rotations, scalings and shifts: each stays
    close to its original, none is a plain crop, and the seed repeats them."""
    plain, _ = load("digits", "train", batch_size=64, shuffle_seed=1)
    augmented, _ = load("digits", "train", batch_size=64, shuffle_seed=1, augment=True)
    again, _ = load("digits", "train", batch_size=64, shuffle_seed=1, augment=True)
    (x, y), (xa, ya), (xb, _) = (next(iter(ds)) for ds in (plain, augmented, again))
    np.testing.assert_array_equal(y, ya)
    np.testing.assert_array_equal(xa, xb)
    x, xa = x.numpy().reshape(64, -1), xa.numpy().reshape(64, -1)
    assert xa.min() >= 0.0 and xa.max() <= 1.0 + 1e-6
    correlation = [np.corrcoef(a, b)[0, 1] for a, b in zip(x, xa)]
    assert min(correlation) > 0.5 and np.mean(correlation) > 0.8
    assert not any(reference.crop_and_mirror(a.reshape(32, 32, 1), b.reshape(32, 32, 1), 4)[0] for a, b in zip(x, xa))


def test_augment_mirrors_shapes_and_moves_masks_with_images(tfds_dir):
    options = dict(train_size=200, test_size=20)
    plain, _ = load("shapes", "train", target="mask", data_dir=tfds_dir, options=options, shuffle_seed=0)
    augmented, _ = load(
        "shapes", "train", target="mask", data_dir=tfds_dir, options=options, shuffle_seed=0, augment=True
    )
    mirrored = 0
    for (x, m), (xa, ma) in zip(plain.take(30).as_numpy_iterator(), augmented.take(30).as_numpy_iterator()):
        is_crop, flipped = reference.crop_and_mirror(x, xa, max_shift=8)
        assert is_crop
        mask_crop, mask_flipped = reference.crop_and_mirror(m[..., None], ma[..., None], max_shift=8)
        assert mask_crop and (mask_flipped == flipped or np.array_equal(m, m[:, ::-1]))
        mirrored += flipped
    assert 5 < mirrored < 25


def test_targets(tfds_dir):
    ds, info = load("shapes", "test", target="mask", batch_size=4, data_dir=tfds_dir)
    x, mask = first_batch(ds)
    assert mask.shape == x.shape[:3] and mask.dtype == np.int32
    assert info.class_names == ("background", "circle", "square", "triangle") and info.num_classes == 4
    ds, info = load("digits", "test", target="image", batch_size=4, data_dir=tfds_dir)
    x, y = first_batch(ds)
    np.testing.assert_array_equal(x, y)


def test_image_size_resizes_and_adapts_channels(tfds_dir):
    ds, info = load("digits", "test", image_size=(16, 16, 3), batch_size=8, data_dir=tfds_dir)
    small, _ = first_batch(ds)
    original, _ = first_batch(load("digits", "test", batch_size=8, data_dir=tfds_dir)[0])
    assert info.input_shape == (16, 16, 3) and small.shape == (8, 16, 16, 3)
    np.testing.assert_array_equal(small[..., 0], small[..., 2])  # grey copied to RGB
    # Pillow's bilinear resize (a triangle filter widened when shrinking) is the reference.
    pillow = [np.asarray(Image.fromarray(im[..., 0]).resize((16, 16), Image.BILINEAR)) for im in original]
    np.testing.assert_allclose(small[..., 0], np.stack(pillow), atol=1e-5)
    grey, info = load("shapes", "test", image_size=(64, 64, 1), batch_size=2, data_dir=tfds_dir)
    x, _ = first_batch(grey)
    colour, _ = first_batch(load("shapes", "test", batch_size=2, data_dir=tfds_dir)[0])
    luma = colour @ np.array([0.2989, 0.587, 0.114])
    np.testing.assert_allclose(x[..., 0], luma, atol=2e-3)
    ds, info = load("shapes", "test", image_size=32, target="mask", batch_size=2, data_dir=tfds_dir)
    x, mask = first_batch(ds)
    assert x.shape == (2, 32, 32, 3) and mask.shape == (2, 32, 32)
    assert set(np.unique(mask)) <= {0, 1, 2, 3}  # nearest neighbour keeps class ids


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="bars", split="test", augment=True), "training splits only. Received: split='test'"),
        (dict(name="signals", split="train", augment=True), "holds 1D signals"),
        (dict(name="signals", split="train", image_size=64), "`image_size` applies to images"),
        (dict(name="digits", split="test", image_size=(32, 32, 2)), "Invalid value for argument `image_size`"),
        (dict(name="digits", split="test", target="masks"), "Expected one of .* Received: target='masks'"),
        (dict(name="digits", split="test", target="mask"), "digits has no per-pixel masks"),
        (dict(name="digits", split="tset"), "digits has no split 'tset'"),
        (dict(name="digits", split="validation", validation_fraction=0.0), "validation_fraction=0"),
        (dict(name="digits", split="test", batch_size=0), "batch_size=0"),
        (dict(name="digits", split="test", options={"noise": 0.1}), "'digits' takes no options"),
        (dict(name="bars", split="test", options={"nose": 0.1}), r"Unknown option\(s\) \['nose'\]"),
        (dict(name="mnst", split="test"), "Unknown dataset 'mnst'. Did you mean 'mnist'"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message, tfds_dir):
    with pytest.raises(ValueError, match=message):
        load(**kwargs, data_dir=tfds_dir)


def test_epoch_datasets_resume_where_an_uninterrupted_run_would_be(tfds_dir):
    kwargs = dict(batch_size=64, data_dir=tfds_dir, options=SMALL_BARS, augment=True, shuffle_seed=5)
    whole, info = load("bars", "train", epochs=3, **kwargs)
    resumed, _ = load("bars", "train", epochs=3, first_epoch=2, **kwargs)
    steps = -(-info.num_examples // 64)
    batches = [x for x, _ in whole.as_numpy_iterator()]
    assert len(batches) == 3 * steps
    epochs = [np.concatenate(batches[e * steps : (e + 1) * steps]) for e in range(3)]
    assert not np.array_equal(epochs[0], epochs[1])  # each epoch its own order and crops
    np.testing.assert_array_equal(np.concatenate([x for x, _ in resumed.as_numpy_iterator()]), epochs[2])
