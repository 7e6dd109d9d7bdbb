import numpy as np
from mmpretrain.datasets import CustomDataset
from PIL import Image
from scipy.io import savemat

from tests.conftest import run_tool_here

BREEDS = ('n02085620-Chihuahua', 'n02085782-Japanese_spaniel')


def make_dogs(root):
    """The official layout: Images/<breed>/<file>.jpg and the split lists
    as MATLAB cell arrays of those paths."""
    splits = {'train': [], 'test': []}
    for breed in BREEDS:
        (root / 'Images' / breed).mkdir(parents=True)
        for i in range(3):
            name = f'{breed}/{breed[:9]}_{i}.jpg'
            Image.new('RGB', (8, 8), (i * 80, 0, 0)).save(root / 'Images' /
                                                          name)
            splits['train' if i < 2 else 'test'].append(name)
    (root / 'lists').mkdir()
    for split, names in splits.items():
        cells = np.empty((len(names), 1), dtype=object)
        for i, name in enumerate(names):
            cells[i, 0] = np.array([name])
        savemat(root / 'lists' / f'{split}_list.mat', {'file_list': cells})


def test_each_split_becomes_class_folders_of_links(tmp_path):
    root = tmp_path / 'stanford_dogs'
    make_dogs(root)
    proc = run_tool_here(['misc/prepare_stanford_dogs.py', str(root)],
                         tmp_path, check=True)
    assert 'train: linked 4 images' in proc.stdout
    assert 'test: linked 2 images' in proc.stdout
    train = CustomDataset(data_root=str(root), data_prefix='train')
    test = CustomDataset(data_root=str(root), data_prefix='test')
    assert train.CLASSES == test.CLASSES == BREEDS
    assert train.get_gt_labels().tolist() == [0, 0, 1, 1]
    assert test.get_gt_labels().tolist() == [0, 1]
    link = root / 'test' / BREEDS[1] / f'{BREEDS[1][:9]}_2.jpg'
    assert link.is_symlink()
    assert link.read_bytes() == (root / 'Images' / BREEDS[1] /
                                 link.name).read_bytes()
    again = run_tool_here(['misc/prepare_stanford_dogs.py', str(root)],
                          tmp_path, check=True)
    assert 'train: linked 0 images' in again.stdout


def test_wrong_folder_and_missing_images_are_named(tmp_path):
    proc = run_tool_here(['misc/prepare_stanford_dogs.py', str(tmp_path)],
                         tmp_path)
    assert proc.returncode == 2
    assert 'train_list.mat not found' in proc.stdout
    root = tmp_path / 'stanford_dogs'
    make_dogs(root)
    (root / 'Images' / BREEDS[0] / f'{BREEDS[0][:9]}_1.jpg').unlink()
    proc = run_tool_here(['misc/prepare_stanford_dogs.py', str(root)],
                         tmp_path)
    assert proc.returncode == 2
    assert f'{BREEDS[0][:9]}_1.jpg is listed in train_list.mat' in (
        proc.stdout)
