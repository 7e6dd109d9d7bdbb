import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
#: what an installed package carries for ``mmmaskreuse::`` configs and
#: ``mim train/test mmmaskreuse``, under ``mmmaskreuse/.mim/`` as in
#: mmpretrain, mmdet and mmseg
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_version():
    scope = {}
    with open(osp.join(ROOT, 'mmmaskreuse', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def mim_mode():
    """``'link'`` for an editable install (edits to the configs show at
    once), ``'copy'`` when a wheel or sdist is built, None otherwise (a
    bare ``egg_info`` leaves ``.mim`` as it is)."""
    if {'develop', 'editable_wheel'} & set(sys.argv):
        return 'copy' if os.name == 'nt' else 'link'
    if {'bdist_wheel', 'sdist', 'build', 'install'} & set(sys.argv):
        return 'copy'
    return None


def lay_out_mim_files(mode):
    """Put :data:`MIM_FILES` under ``mmmaskreuse/.mim/``, as links or
    copies. A wheel built from an sdist finds them there already (the sdist
    has no top-level ``configs/``: MANIFEST.in packs ``.mim`` alone) and
    keeps them."""
    mim = osp.join(ROOT, 'mmmaskreuse', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        source, target = osp.join(ROOT, name), osp.join(mim, name)
        if not osp.exists(source):
            continue
        if osp.islink(target) or osp.isfile(target):
            os.remove(target)
        elif osp.isdir(target):
            shutil.rmtree(target)
        if mode == 'link':
            os.symlink(osp.relpath(source, mim), target)
        elif osp.isdir(source):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))
        else:
            shutil.copyfile(source, target)


if mim_mode() is not None:
    lay_out_mim_files(mim_mode())

setup(
    name='mmmaskreuse',
    version=read_version(),
    description='MaskAnyNet and Conditional MAE as an OpenMMLab extension '
    '(classification, detection, segmentation)',
    long_description=open(osp.join(ROOT, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*')),
    # mmmaskreuse/.mim/**, listed in MANIFEST.in
    include_package_data=True,
    python_requires='>=3.8',
    # torch and mmcv are left to the user (CUDA build, compiled ops);
    # `make install` pins the whole stack for CPU machines.
    install_requires=[
        'mmengine>=0.10.7,<0.11', 'mmpretrain>=1.2.0,<1.3',
        'mmdet>=3.3.0,<3.4', 'mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex'
    ],
    license='Apache License 2.0',
    zip_safe=False)
