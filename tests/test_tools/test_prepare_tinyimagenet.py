from mmpretrain.datasets import CustomDataset
from PIL import Image

from tests.conftest import run_tool_here


def make_tiny(root, classes=('n01', 'n02'), per_class=2):
    for wnid in classes:
        (root / 'train' / wnid / 'images').mkdir(parents=True)
        (root / 'train' / wnid / f'{wnid}_boxes.txt').write_text('')
        Image.new('RGB', (64, 64)).save(
            root / 'train' / wnid / 'images' / f'{wnid}_0.JPEG')
    (root / 'val' / 'images').mkdir(parents=True)
    lines = []
    for i in range(per_class * len(classes)):
        name = f'val_{i}.JPEG'
        Image.new('RGB', (64, 64)).save(root / 'val' / 'images' / name)
        lines.append(f'{name}\t{classes[i % len(classes)]}\t0\t0\t63\t63')
    (root / 'val' / 'val_annotations.txt').write_text('\n'.join(lines))


def test_val_images_land_in_their_class_folders(tmp_path):
    root = tmp_path / 'tiny-imagenet-200'
    make_tiny(root)
    proc = run_tool_here(['misc/prepare_tinyimagenet.py', str(root)],
                         tmp_path, check=True)
    assert 'moved 4 val images' in proc.stdout
    assert sorted(p.name for p in (root / 'val' / 'n02').iterdir()) == [
        'val_1.JPEG', 'val_3.JPEG']
    val = CustomDataset(data_root=str(root), data_prefix='val')
    train = CustomDataset(data_root=str(root), data_prefix='train')
    assert val.CLASSES == train.CLASSES == ('n01', 'n02')
    assert [val.get_gt_labels().tolist()] == [[0, 0, 1, 1]]
    again = run_tool_here(['misc/prepare_tinyimagenet.py', str(root)],
                          tmp_path, check=True)
    assert 'moved 0 val images' in again.stdout


def test_wrong_folder_is_named(tmp_path):
    proc = run_tool_here(['misc/prepare_tinyimagenet.py', str(tmp_path)],
                         tmp_path)
    assert proc.returncode == 2
    assert f'{tmp_path}/val/val_annotations.txt not found' in proc.stdout
