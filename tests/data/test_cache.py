"""The decoded-image cache: decode once, same pixels as decoding directly, rebuilt on change, worker-safe."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

import skinaug.data.decode as decode
from skinaug.data import DecodedImageCache, decode_image, real_dataset
from skinaug.errors import SkinaugError
from skinaug.prepare import prepare_dataset


@pytest.fixture
def workdir(tiny_ham: Path, tmp_path: Path) -> Path:
    prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    return tmp_path / "work"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every image decode made through skinaug.data, by file name."""
    calls: list[str] = []
    original = decode.load_rgb

    def counting(path: str | os.PathLike[str]) -> np.ndarray:
        calls.append(Path(path).name)
        return original(path)

    monkeypatch.setattr(decode, "load_rgb", counting)
    return calls


def test_images_are_decoded_once_and_match_direct_decoding(workdir: Path, decodes: list[str]) -> None:
    cache = DecodedImageCache(workdir / "cache", progress=False)
    first = real_dataset(workdir, ["train", "val"], image_size=24, cache=cache)
    assert len(decodes) == 21 and len(set(decodes)) == 21
    second = real_dataset(workdir, ["train", "val"], image_size=24, cache=cache)
    items = [second[i][0] for i in range(len(second))]
    assert len(decodes) == 21  # neither the second construction nor reading items decoded anything
    assert second.cache_file == first.cache_file and second.cache_file.exists()
    array = np.load(first.cache_file, mmap_mode="r")
    assert array.shape == (21, 24, 24, 3) and array.dtype == np.uint8
    for item, file in zip(items, first.frame["image_file"]):
        assert item.dtype == torch.uint8 and item.shape == (3, 24, 24)
        np.testing.assert_array_equal(item.permute(1, 2, 0).numpy(), decode_image(file, 24))
    uncached = real_dataset(workdir, ["train", "val"], image_size=24)
    assert all(torch.equal(uncached[i][0], items[i]) for i in range(len(items)))
    real_dataset(workdir, "train", image_size=16, cache=workdir / "cache")  # another size: its own file
    assert len(list((workdir / "cache").glob("*.npy"))) == 2


def test_the_cache_is_rebuilt_when_an_image_changes(workdir: Path, decodes: list[str]) -> None:
    dataset = real_dataset(workdir, "train", image_size=24, cache=DecodedImageCache(workdir / "cache", progress=False))
    old_file = dataset.cache_file
    changed = Path(dataset.frame.at[0, "image_file"])
    Image.new("RGB", (64, 48), (10, 200, 30)).save(changed, quality=95)
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    rebuilt = real_dataset(workdir, "train", image_size=24, cache=DecodedImageCache(workdir / "cache", progress=False))
    assert len(decodes) == 2 * len(dataset) and rebuilt.cache_file != old_file and not old_file.exists()
    np.testing.assert_array_equal(rebuilt[0][0].permute(1, 2, 0).numpy(), decode_image(changed, 24))
    assert list((workdir / "cache").iterdir()) == [rebuilt.cache_file]


def test_a_bad_image_is_named_and_leaves_no_partial_cache(workdir: Path) -> None:
    dataset = real_dataset(workdir, "train")
    broken = Path(dataset.frame.at[3, "image_file"])
    broken.write_bytes(b"not a jpeg at all")
    with pytest.raises(SkinaugError, match=f"{broken.name}: not a readable image"):
        real_dataset(workdir, "train", image_size=24, cache=DecodedImageCache(workdir / "cache", progress=False))
    assert not [p for p in (workdir / "cache").iterdir()]
    broken.unlink()
    with pytest.raises(SkinaugError, match=f"{broken.name}: No such file"):
        real_dataset(workdir, "train", image_size=24, cache=DecodedImageCache(workdir / "cache", progress=False))


def test_dataloader_workers_read_the_memmap(workdir: Path) -> None:
    dataset = real_dataset(
        workdir,
        ["train", "val"],
        image_size=24,
        cache=DecodedImageCache(workdir / "cache", progress=False),
        with_mask=True,
    )
    dataset[0]  # maps the cache file in this process
    assert len(pickle.dumps(dataset)) < 20_000  # workers get the file name, not the pixels
    batches = list(DataLoader(dataset, batch_size=5, num_workers=2))
    images = torch.cat([b[0] for b in batches])
    labels = torch.cat([b[1] for b in batches])
    masks = torch.cat([b[2] for b in batches])
    assert images.shape == (21, 3, 24, 24) and masks.shape == (21, 24, 24) and masks.dtype == torch.bool
    np.testing.assert_array_equal(labels.numpy(), dataset.labels)
    expected = np.load(dataset.cache_file)
    np.testing.assert_array_equal(images.permute(0, 2, 3, 1).numpy(), expected)


def test_resolution_chain_goes_through_the_generator_size(tmp_path: Path) -> None:
    from PIL import Image

    from skinaug.data.decode import decode_image

    rng = np.random.default_rng(0)
    path = tmp_path / "big.png"
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
    small = tmp_path / "small.png"
    Image.fromarray(decode_image(path, 16)).save(small)
    direct, chained = decode_image(path, 32), decode_image(path, 32, via_size=16)
    assert chained.shape == direct.shape == (32, 32, 3)
    assert np.array_equal(chained, decode_image(small, 32))  # real image = generated image's path
    assert not np.array_equal(chained, direct)
    cache = DecodedImageCache(tmp_path / "cache", progress=False)
    assert np.array_equal(cache.array([path], 32, via_size=16)[0], chained)
    assert cache.path_for([path], 32, 16) != cache.path_for([path], 32)
