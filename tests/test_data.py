"""Data layer: embedded digits, IDX files (.gz and raw), image folders, loaders, preprocessing."""

import gzip
import struct

import numpy as np
import pytest
from PIL import Image, ImageDraw

from convscope.data import (
    MNIST_SHAPE,
    ArrayDataset,
    DataLoader,
    Normalize,
    load_digit_image,
    load_digits,
    load_idx,
    load_image,
    load_image_folder,
    mnist_style,
    normalization,
    open_data,
    open_eval_data,
    read_idx,
)
from convscope.data.digits import split_indices
from convscope.errors import DataError


def write_idx(path, array, type_byte=0x08, compress=False):
    """An IDX file written by hand: magic 00 00 TT DD, big-endian sizes, big-endian data."""
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[type_byte]
    header = bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + np.asarray(array).astype(dtype).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def mark(path, k=0, size=(30, 30)):
    """A white stroke on black (something mnist_style finds ink in), shifted by k pixels."""
    img = Image.new("L", size, 0)
    ImageDraw.Draw(img).line([(4 + k, 3), (4 + k, size[1] - 4)], fill=255, width=3)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def idx_folder(root, n_train=12, n_test=5, compress=False, torchvision=False):
    rng = np.random.default_rng(0)
    folder = root / "MNIST" / "raw" if torchvision else root
    folder.mkdir(parents=True, exist_ok=True)
    gz = ".gz" if compress else ""
    data = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{gz}", images, compress=compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{gz}", labels, compress=compress)
        data[prefix] = images, labels
    return data


# ---- embedded digits ----------------------------------------------------------------------


def test_embedded_digits_split_is_fixed_and_disjoint():
    train, test = load_digits()
    assert (len(train), len(test)) == (8000, 2000)
    assert train.images.shape == (8000, 1, 28, 28) and train.images.dtype == np.uint8
    tr, te = split_indices()
    assert len(np.intersect1d(tr, te)) == 0 and len(np.union1d(tr, te)) == 10000
    # the fixed split, pinned: the first indices of each part on every machine
    assert tr[:5].tolist() == [6037, 855, 921, 3697, 269]
    assert te[:5].tolist() == [869, 7651, 3421, 4053, 5291]
    assert np.bincount(test.labels, minlength=10).min() > 150  # every digit is in the test split


def test_embedded_digits_are_normalised_by_default():
    train, _ = load_digits()
    x, y = train.batch(np.arange(1000))
    assert x.dtype == np.float32 and x.shape == (1000, 1, 28, 28)
    assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1) < 0.1
    assert y.dtype == np.int64 and set(np.unique(y)) <= set(range(10))


# ---- IDX ----------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("torchvision", [False, True])
def test_idx_folder_round_trip(tmp_path, compress, torchvision):
    data = idx_folder(tmp_path, compress=compress, torchvision=torchvision)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        ds = load_idx(tmp_path, split)
        images, labels = data[prefix]
        np.testing.assert_array_equal(ds.images[:, 0], images)
        np.testing.assert_array_equal(ds.labels, labels)


def test_read_idx_other_element_types(tmp_path):
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a", a, 0x0C)), a)
    f = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "f", f, 0x0D)), f)


def test_idx_wrong_magic(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x89PNG" + bytes(100))
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte: not an IDX file: wrong magic number 0x89504e47"
    ):
        read_idx(path)


def test_idx_truncated_data(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(
        DataError,
        match=r"x: truncated: shape \(4, 28, 28\) of uint8 needs 3152 bytes, the file has 3142",
    ):
        read_idx(path)


def test_idx_truncated_header(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(DataError, match="truncated IDX header: 6 bytes, 3 dimensions need 16"):
        read_idx(path)


def test_idx_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((4, 28, 28), np.uint8), compress=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"x.gz: corrupt gzip file"):
        read_idx(path)


def test_idx_count_mismatch(tmp_path):
    idx_folder(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(11, np.uint8))
    with pytest.raises(
        DataError,
        match="train-images-idx3-ubyte holds 12 images but train-labels-idx1-ubyte holds 11 labels",
    ):
        load_idx(tmp_path, "train")


def test_idx_missing_files_and_path(tmp_path):
    with pytest.raises(DataError, match="no such file or directory"):
        load_idx(tmp_path / "nope")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"no train-labels-idx1-ubyte\[.gz\] here"):
        load_idx(tmp_path, "train")


# ---- image folders ------------------------------------------------------------------------


def test_image_folder_loads_resizes_and_labels(tmp_path):
    for label, colour in ((0, 0), (3, 200)):
        (tmp_path / str(label)).mkdir()
        Image.new("RGB", (40, 30), (colour, colour, colour)).save(tmp_path / str(label) / "a.png")
        Image.new("L", (28, 28), colour).save(tmp_path / str(label) / "b.jpg")
    (tmp_path / "3" / "notes.txt").write_text("ignored")
    ds = load_image_folder(tmp_path, size=(30, 30), channels=1)  # not a digit model: resized
    assert ds.images.shape == (4, 1, 30, 30)
    np.testing.assert_array_equal(ds.labels, [0, 0, 3, 3])
    assert int(ds.images[2].mean()) == 200
    x, _ = ds.batch(np.arange(4))
    assert x.dtype == np.float32 and float(x.max()) <= 1.0
    rgb = load_image_folder(tmp_path, size=(16, 20), channels=3)
    assert rgb.images.shape == (4, 3, 16, 20)


def test_image_folder_for_a_digit_model_is_prepared_as_predict_prepares(tmp_path):
    paths = []
    for label in (2, 5):
        for k in range(2):
            img = dark_stroke_on_white((90 + 20 * k, 120))  # dark on light, any size, RGB
            paths.append(tmp_path / str(label) / f"{k}.jpg")
            paths[-1].parent.mkdir(exist_ok=True)
            img.save(paths[-1])
    ds = load_image_folder(tmp_path, size=(28, 28), channels=1)
    assert MNIST_SHAPE == (1, 28, 28) and ds.images.shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(ds.images, np.stack([load_digit_image(p) for p in paths]))
    np.testing.assert_array_equal(ds.images[0], load_image(paths[0], MNIST_SHAPE))
    np.testing.assert_array_equal(ds.labels, [2, 2, 5, 5])
    assert load_image(paths[0], (3, 16, 20)).shape == (3, 16, 20)  # other shapes: resized


def test_image_folder_with_the_classes_of_a_model(tmp_path):
    digits = [str(c) for c in range(10)]
    for name in ("07", "3"):  # a digit folder matches with leading zeros too
        mark(tmp_path / "digits" / name / "a.png")
    ds = load_image_folder(tmp_path / "digits", classes=digits)
    np.testing.assert_array_equal(ds.labels, [3, 7])
    assert ds.classes == digits
    mark(tmp_path / "pets" / "dog" / "a.png")
    assert load_image_folder(tmp_path / "pets", classes=["cat", "dog"]).labels.tolist() == [1]
    for name in ("run", "run3", "4"):
        mark(tmp_path / "runs" / name / "a.png")
    with pytest.raises(
        DataError,
        match=r"runs: sub-folders run/, run3/ are not a class of the model;"
        r" name each class folder by its label: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9$",
    ):
        load_image_folder(tmp_path / "runs", classes=digits)
    with pytest.raises(DataError, match=r"sub-folder dog/ is not a class of the model"):
        open_eval_data(tmp_path / "pets", classes=digits)


def test_image_folder_named_classes_are_sorted(tmp_path):
    for name in ("dog", "cat"):
        (tmp_path / name).mkdir()
        Image.new("L", (8, 8), 9).save(tmp_path / name / "x.png")
    ds = load_image_folder(tmp_path, size=(8, 8))
    assert ds.classes == ["cat", "dog"]


def test_image_folder_bad_inputs(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(DataError, match="no class sub-folders"):
        load_image_folder(tmp_path)
    mark(tmp_path / "0" / "ok.png")
    (tmp_path / "1").mkdir()
    with pytest.raises(DataError, match=r"1: empty class folder"):
        load_image_folder(tmp_path)
    (tmp_path / "1" / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"broken.png: not a readable PNG/JPEG image"):
        load_image_folder(tmp_path)


# ---- loaders ------------------------------------------------------------------------------


def test_dataloader_batches_shuffle_and_drop_last():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    ds = ArrayDataset(images, np.arange(10))
    loader = DataLoader(ds, batch_size=4)
    assert [len(y) for _, y in loader] == [4, 4, 2] and len(loader) == 3
    assert [len(y) for _, y in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    shuffled = DataLoader(ds, batch_size=10, shuffle=True, seed=5)
    first = next(iter(shuffled))[1]
    assert sorted(first) == list(range(10)) and list(first) != list(range(10))
    again = DataLoader(ds, batch_size=10, shuffle=True, seed=5)
    np.testing.assert_array_equal(next(iter(again))[1], first)  # same seed, same order
    second = next(iter(shuffled))[1]  # the next epoch is shuffled differently
    assert list(second) != list(first)
    shuffled.set_epoch(0)
    tail = [y for _, y in DataLoader(ds, 3, shuffle=True, seed=5).iterate(start=2)]
    np.testing.assert_array_equal(np.concatenate(tail), first[6:])  # resume mid-epoch
    x, _ = next(iter(loader))
    np.testing.assert_allclose(x.ravel(), np.arange(4) / 255, rtol=1e-6)


def test_dataloader_with_a_sampler_batches_as_torch_does():
    torch = pytest.importorskip("torch", reason="pip install torch==2.13.0")
    from torch.utils.data import DistributedSampler

    images = np.arange(11, dtype=np.uint8).reshape(11, 1, 1, 1)
    ds = ArrayDataset(images, np.arange(11))
    for rank in (0, 1, 2):  # three ranks over 11 samples: torch pads to 4 each
        ours_sampler = DistributedSampler(range(11), num_replicas=3, rank=rank, seed=7)
        theirs_sampler = DistributedSampler(range(11), num_replicas=3, rank=rank, seed=7)
        loader = DataLoader(ds, batch_size=3, sampler=ours_sampler)
        theirs = torch.utils.data.DataLoader(range(11), batch_size=3, sampler=theirs_sampler)
        for epoch in (0, 1):
            loader.set_epoch(epoch)  # passed on to the sampler
            theirs_sampler.set_epoch(epoch)
            assert ours_sampler.epoch == epoch and len(loader) == len(theirs) == 2
            ours = [y.tolist() for _, y in loader]
            assert ours == [b.tolist() for b in theirs]
        tail = [y.tolist() for _, y in loader.iterate(start=1)]
        assert tail == ours[1:]  # resume mid-epoch: the same batches
    plain = DataLoader(ds, batch_size=4, sampler=[10, 0, 5])  # any sized iterable of indices
    assert [y.tolist() for _, y in plain] == [[10, 0, 5]] and len(plain) == 1


def test_dataloader_sampler_errors():
    ds = ArrayDataset(np.zeros((4, 1, 1, 1)), np.arange(4))
    with pytest.raises(DataError, match="sampler and shuffle=True exclude each other"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(DataError, match="a sampler is an iterable of sample indices with len"):
        DataLoader(ds, sampler=3)
    with pytest.raises(DataError, match=r"the sampler gave index 4, but the dataset holds 4"):
        list(DataLoader(ds, sampler=[0, 4]))


class TorchStyleDataset:
    """Only __len__ and __getitem__ -> (image (1, 2, 2) float32, label), as in PyTorch."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.full((1, 2, 2), i, np.float32), np.int64(i % 3)


def test_dataloader_takes_datasets_without_batch():
    ds = TorchStyleDataset()
    batches = list(DataLoader(ds, batch_size=2, num_workers=0, pin_memory=False))
    assert [x.shape for x, _ in batches] == [(2, 1, 2, 2), (2, 1, 2, 2), (1, 1, 2, 2)]
    x, y = batches[1]
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 0, 0, 0], [2, 3])
    np.testing.assert_array_equal(y, [2, 0])
    pairs = [ds[i] for i in range(5)]  # a plain list of (image, label) tuples
    shuffled = DataLoader(pairs, batch_size=5, shuffle=True, seed=3)
    x, y = next(iter(shuffled))
    order = DataLoader(pairs, 5, shuffle=True, seed=3).order(0)
    np.testing.assert_array_equal(x[:, 0, 0, 0], order)
    np.testing.assert_array_equal(y, order % 3)
    with pytest.raises(DataError, match=r"dataset\[0\] gave ndarray, not an \(image, label\) pair"):
        next(iter(DataLoader([np.zeros((1, 2, 2))], batch_size=1)))


def test_dataloader_refuses_worker_processes_and_pinned_memory():
    ds = TorchStyleDataset()
    with pytest.raises(
        DataError,
        match=r"num_workers=4 is not supported: convscope loads batches in a single process;"
        r" use num_workers=0",
    ):
        DataLoader(ds, num_workers=4)
    with pytest.raises(
        DataError, match=r"pin_memory=True is not supported: convscope runs on the CPU"
    ):
        DataLoader(ds, pin_memory=True)
    with pytest.raises(DataError, match=r"a dataset needs __len__ and __getitem__, got int"):
        DataLoader(7)


def test_normalize_and_bad_arguments():
    x = Normalize(0.5, 0.25)(np.full((1, 1, 2, 2), 255, np.uint8))
    np.testing.assert_allclose(x, 2.0)
    with pytest.raises(DataError, match="std must be > 0"):
        Normalize(0.5, 0)
    with pytest.raises(DataError, match="batch_size must be a positive integer"):
        DataLoader(ArrayDataset(np.zeros((2, 1, 1, 1)), [0, 1]), batch_size=0)
    with pytest.raises(DataError, match=r"images must be \(N, C, H, W\)"):
        ArrayDataset(np.zeros((2, 28, 28)), [0, 1])
    with pytest.raises(DataError, match="2 images but labels of shape"):
        ArrayDataset(np.zeros((2, 1, 28, 28)), [0, 1, 2])


# ---- MNIST-style preprocessing ------------------------------------------------------------


def dark_stroke_on_white(size=(120, 90)):
    img = Image.new("RGB", size, (250, 250, 240))
    ImageDraw.Draw(img).line([(60, 10), (60, 80)], fill=(10, 10, 40), width=9)
    return img


def test_mnist_style_inverts_fits_20_and_centres_by_mass(tmp_path):
    out = mnist_style(dark_stroke_on_white())
    assert out.shape == (1, 28, 28) and out.dtype == np.uint8
    ink = out[0].astype(float)
    assert ink[0].max() == 0 and ink.max() == 255  # background black, ink white
    rows = np.flatnonzero(ink.any(axis=1))
    assert rows[-1] - rows[0] + 1 == 20  # the longer side is fitted to 20
    cy = (ink.sum(axis=1) @ np.arange(28)) / ink.sum()
    cx = (ink.sum(axis=0) @ np.arange(28)) / ink.sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    path = tmp_path / "digit.png"
    dark_stroke_on_white().save(path)
    np.testing.assert_array_equal(load_digit_image(path), out)
    light_on_dark = mnist_style(255 - np.asarray(dark_stroke_on_white().convert("L")))
    np.testing.assert_allclose(light_on_dark.astype(int), out.astype(int), atol=8)


def test_mnist_style_rejects_blank_and_unreadable(tmp_path):
    with pytest.raises(DataError, match="no digit found"):
        mnist_style(Image.new("L", (30, 30), 255))
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\xff\xd8garbage")
    with pytest.raises(DataError, match="x.jpg: not a readable PNG/JPEG image"):
        load_digit_image(bad)


# ---- --data sources -----------------------------------------------------------------------


def test_open_data_picks_the_source_and_normalises_with_train_statistics(tmp_path):
    idx_folder(tmp_path / "idx", n_train=12, n_test=5)
    train, test = open_data(tmp_path / "idx")
    assert (len(train), len(test)) == (12, 5)
    mean, std = normalization(train)
    assert normalization(test) == (mean, std)
    x, _ = train.batch(np.arange(12))
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 1e-4
    assert len(open_eval_data(tmp_path / "idx")) == 5  # the t10k files
    for split, n in (("train", 3), ("test", 2)):
        for label in ("0", "1"):
            (tmp_path / "img" / split / label).mkdir(parents=True)
            for i in range(n):
                mark(tmp_path / "img" / split / label / f"{i}.png", k=i, size=(10, 10))
    train, test = open_data(tmp_path / "img")
    assert (len(train), len(test)) == (6, 4)
    assert len(open_eval_data(tmp_path / "img")) == 4  # the test/ folder
    train, test = open_data(tmp_path / "img" / "train", seed=1)  # no split folders: 80/20
    assert (len(train), len(test)) == (5, 1)
    assert len(load_digits()[1]) == len(open_eval_data(None)) == 2000


def test_open_data_bad_paths(tmp_path):
    with pytest.raises(DataError, match="nope: no such file or directory"):
        open_data(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(DataError, match="f.txt: --data needs a folder"):
        open_data(tmp_path / "f.txt")


# ---- hostile files: deep pictures, decompression bombs, lying IDX files, one class -------


def png_header_only(path, width, height):
    """A valid PNG signature and IHDR for width x height 8-bit gray, then a tiny IDAT: Pillow
    reads the size from the header without decoding anything (a decompression bomb's shape)."""
    import zlib

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes(1000))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def test_16_bit_pictures_are_scaled_not_clipped(tmp_path):
    _, test = load_digits()
    digit = np.asarray(Image.fromarray(255 - test.images[0, 0]).resize((84, 84)))
    Image.fromarray(digit).save(tmp_path / "d8.png")
    Image.fromarray(digit.astype(np.uint16) * 257).save(tmp_path / "d16.png")  # 0..65535
    assert Image.open(tmp_path / "d16.png").mode == "I;16"
    expected = load_digit_image(tmp_path / "d8.png")
    np.testing.assert_array_equal(load_digit_image(tmp_path / "d16.png"), expected)  # integers
    wide = np.asarray(digit, np.int32) * 257
    as_float = np.asarray(digit, np.float32) / 255
    for img in (Image.fromarray(wide), Image.fromarray(as_float)):  # modes I and F (TIFF)
        assert img.mode in ("I", "F")
        np.testing.assert_array_equal(mnist_style(img), expected)
    plain = load_image(tmp_path / "d16.png", (1, 84, 84))  # a non-digit model: no clipping
    np.testing.assert_array_equal(plain[0], digit)


def test_decompression_bombs_and_the_pixel_cap(tmp_path):
    from convscope.data.image import MAX_PIXELS

    for side, found in ((30000, "over 178 megapixels (a decompression bomb)"), (6000, "6000x6000 pixels")):  # fmt: skip
        bomb = png_header_only(tmp_path / f"bomb{side}.png", side, side)
        with pytest.raises(DataError) as info:
            load_digit_image(bomb)
        message = str(info.value)
        assert message.startswith(f"{bomb}: {found}: more than the 25-megapixel limit")
        assert "shrink it first" in message and "\n" not in message
    assert MAX_PIXELS == 25_000_000
    big = tmp_path / "big.jpg"  # a JPEG above the cap is decoded at a reduced scale instead
    img = Image.new("L", (6000, 4500), 255)
    ImageDraw.Draw(img).line([(3000, 500), (3000, 4000)], fill=0, width=300)
    img.save(big, quality=60)
    assert load_digit_image(big).shape == (1, 28, 28)
    (tmp_path / "f" / "0").mkdir(parents=True)
    (tmp_path / "f" / "1").mkdir()
    mark(tmp_path / "f" / "0" / "a.png")
    png_header_only(tmp_path / "f" / "1" / "bomb.png", 30000, 30000)
    with pytest.raises(DataError, match=r"bomb.png: over 178 megapixels"):
        load_image_folder(tmp_path / "f")


def test_a_gzip_bomb_is_read_only_as_far_as_its_header_declares(tmp_path):
    import tracemalloc
    import zlib

    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 300, 28, 28)
    stream = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip: 300 images, then 1 GiB of zeros
    parts = [stream.compress(header)]
    parts += [stream.compress(bytes(1 << 24)) for _ in range(64)]
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"".join(parts) + stream.flush())
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"too long: shape \(300, 28, 28\) of uint8 needs 235216 bytes, the file has more"):  # fmt: skip
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    lying = write_idx(tmp_path / "lying.gz", np.zeros((3, 28, 28), np.uint8), compress=True)
    raw = gzip.decompress(lying.read_bytes())
    lying.write_bytes(gzip.compress(raw[:4] + struct.pack(">I", 2**31) + raw[8:]))
    with pytest.raises(DataError, match=r"truncated: shape \(2147483648, 28, 28\) of uint8"):
        read_idx(lying)  # a header that promises 1.6 TB reads what is there, then says so


def test_idx_sources_that_cannot_train(tmp_path):
    idx_folder(tmp_path / "empty", n_train=0)
    with pytest.raises(DataError, match=r"empty: the train split holds no images; a run needs train images to learn from"):  # fmt: skip
        open_data(tmp_path / "empty")
    idx_folder(tmp_path / "notest", n_test=0)
    with pytest.raises(DataError, match=r"notest: the test split holds no images; a run needs test images to score"):  # fmt: skip
        open_data(tmp_path / "notest")
    idx_folder(tmp_path / "one")
    write_idx(tmp_path / "one" / "train-labels-idx1-ubyte", np.full(12, 7, np.uint8))
    with pytest.raises(DataError, match=r"all 12 training images are of class '7'; a classifier needs at least two classes"):  # fmt: skip
        open_data(tmp_path / "one")
    idx_folder(tmp_path / "huge")
    write_idx(tmp_path / "huge" / "train-labels-idx1-ubyte", np.arange(12) * 2**26, 0x0C)
    with pytest.raises(DataError, match=r"labels go up to 738197504, but a classifier here has at most 65536 classes"):  # fmt: skip
        open_data(tmp_path / "huge")


def test_a_one_class_image_folder_is_refused(tmp_path):
    for i in range(4):
        mark(tmp_path / "3" / f"{i}.png", k=i)
    with pytest.raises(DataError, match=r"all 3 training images are of class '3'; a classifier needs at least two classes \(an image folder: one sub-folder per class\)"):  # fmt: skip
        open_data(tmp_path)
