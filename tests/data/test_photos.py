"""The `photos` dataset: a folder of images (labels from sub-folders), scikit-image's by default."""

import numpy as np
import pytest
from PIL import Image

from pipeline.data import load


def save(path, colour, size=(40, 60)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), colour, np.uint8)).save(path)


def test_default_is_scikit_image_photos_unlabelled():
    ds, info = load("photos", "test", batch_size=8)
    x, y = next(iter(ds))
    assert info.input_shape == (224, 224, 3) and info.num_classes == 0 and info.class_names == ()
    assert x.shape == (4, 224, 224, 3) and (y.numpy() == -1).all()
    assert float(x.numpy().min()) >= 0.0 and float(x.numpy().max()) <= 1.0


def test_class_subfolders_are_labels_and_images_are_cropped_and_resized(tmp_path):
    save(tmp_path / "red" / "a.png", (255, 0, 0))
    save(tmp_path / "blue" / "b.jpg", (0, 0, 255))
    save(tmp_path / "blue" / "c.png", (0, 0, 255), size=(90, 30))
    (tmp_path / "blue" / "notes.txt").write_text("not an image")
    ds, info = load("photos", "test", batch_size=8, data_dir=str(tmp_path), image_size=[32, 48])
    x, y = (v.numpy() for v in next(iter(ds)))
    assert info.class_names == ("blue", "red") and info.num_examples == 3
    assert x.shape == (3, 32, 48, 3) and y.tolist() == [0, 0, 1]
    np.testing.assert_allclose(x[2].mean(axis=(0, 1)), [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(x[0].mean(axis=(0, 1)), [0.0, 0.0, 1.0], atol=0.02)  # JPEG


def test_split_folders_and_errors(tmp_path):
    save(tmp_path / "train" / "cat" / "a.png", (10, 20, 30))
    save(tmp_path / "test" / "cat" / "b.png", (10, 20, 30))
    assert load("photos", "train", data_dir=str(tmp_path))[1].num_examples == 1
    with pytest.raises(ValueError, match="no validation/ folder"):
        load("photos", "validation", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="not training"):
        load("photos", "train")
    with pytest.raises(ValueError, match="not a folder"):
        load("photos", "test", data_dir=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images"):
        load("photos", "test", data_dir=str(tmp_path / "empty"))


def test_a_subset_of_a_photo_folder_is_the_seeded_draw(tmp_path):
    for i in range(10):
        save(tmp_path / "grey" / f"{i}.png", (i * 20, i * 20, i * 20))
    ds, info = load("photos", "test", batch_size=10, data_dir=str(tmp_path), subset=4)
    levels = np.round(next(iter(ds))[0].numpy()[:, 0, 0, 0] * 255 / 20).astype(int).tolist()
    assert info.num_examples == 4 and levels == sorted(np.random.default_rng(0).choice(10, 4, replace=False).tolist())
    first, _ = load("photos", "test", batch_size=10, data_dir=str(tmp_path), subset=4, max_examples=2)
    assert np.round(next(iter(first))[0].numpy()[:, 0, 0, 0] * 255 / 20).astype(int).tolist() == levels[:2]
